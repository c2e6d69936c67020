// Your first DCI search with the SDK: token, signed sync search, answer verified against the server's JWKS.
// Usage: DCI_CLIENT_ID=dcic_… DCI_CLIENT_SECRET=dcis_… deno run --allow-net --allow-read --allow-env \
//          sdk/examples/first_search.ts BASE_URL SENDER_ID KEY_ID KEY_FILE [ID_TYPE ID_VALUE]
import { DciClient, senderKey } from "../mod.ts";

const [
  baseUrl,
  senderId,
  keyId,
  keyFile,
  idType = "UIN",
  idValue = "TEST-001",
] = Deno.args;
const dci = new DciClient({
  baseUrl,
  clientId: Deno.env.get("DCI_CLIENT_ID") ?? "",
  clientSecret: Deno.env.get("DCI_CLIENT_SECRET") ?? "",
  key: await senderKey(senderId, keyId, await Deno.readTextFile(keyFile)), // Ed25519 or RSA, PEM
});
// Throws AnswerVerificationError if the signed answer does not verify against /.well-known/jwks.json.
const answer = await dci.search([{ query: { type: idType, value: idValue } }]);
console.error(
  `HTTP ${answer.status}, signature ${answer.verification?.ok ? "verified" : "absent"}`,
);
console.log(JSON.stringify(answer.body, null, 2));
