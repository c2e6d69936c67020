// Node (>= 20): token, signed sync search, verified answer, with the SDK's built module and nothing else.
// Usage: DCI_CLIENT_ID=dcic_… DCI_CLIENT_SECRET=dcis_… node sdk/examples/search.mjs \
//          BASE_URL SENDER_ID KEY_ID KEY_FILE [ID_TYPE ID_VALUE]
// Prints one JSON line: HTTP status, whether the answer verified, the kid it was signed with, the records.
import { readFile } from "node:fs/promises";
import { DciClient, senderKey } from "../dist/dci.js";

const [
  baseUrl,
  senderId,
  keyId,
  keyFile,
  idType = "UIN",
  idValue = "TEST-001",
] = process.argv.slice(2);
const dci = new DciClient({
  baseUrl,
  clientId: process.env.DCI_CLIENT_ID ?? "",
  clientSecret: process.env.DCI_CLIENT_SECRET ?? "",
  key: await senderKey(senderId, keyId, await readFile(keyFile, "utf8")),
});
const answer = await dci.search([{ query: { type: idType, value: idValue } }]);
const item = answer.body.message?.search_response?.[0];
console.log(JSON.stringify({
  status: answer.status,
  verified: answer.verification?.ok === true,
  kid: answer.verification?.ok ? answer.verification.params.kid : undefined,
  item_status: item?.status,
  records: item?.data?.reg_records ?? [],
}));
