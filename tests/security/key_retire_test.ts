/**
 * A server key retired by the CLI (another process) stops validating access tokens at once in every HTTP
 * isolate: the very next request with a token it signed is refused, whichever isolate takes it.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runCliProcess } from "../helpers/server.ts";
import { createServerSender, fetchToken, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { startWorkerServer } from "../transactions/e2e_support.ts";
import { specFetch } from "../helpers/spec_hooks.ts";

const SEARCH = {
  transaction_id: "t-retire",
  search_request: [{
    reference_id: "r1",
    timestamp: new Date().toISOString(),
    search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "none" } },
  }],
};

/** One signed sync search on a fresh connection (the kernel picks the isolate); its status and isolate. */
async function search(url: string, sender: TestSender, token: string) {
  const res = await specFetch(`${url}/registry/sync/search`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, connection: "close" },
    body: JSON.stringify(
      sender.sign(requestEnvelope(sender.senderId, SEARCH, { action: "search", totalCount: 1 })),
    ),
  });
  const body = await res.json();
  return { status: res.status, isolate: res.headers.get("x-dci-isolate") ?? "none", body };
}

/** Sends searches until each of the 2 HTTP isolates has answered at least once; returns every answer. */
async function untilBothIsolates(url: string, sender: TestSender, token: string) {
  const answers: Awaited<ReturnType<typeof search>>[] = [];
  for (let i = 0; i < 200 && new Set(answers.map((a) => a.isolate)).size < 2; i++) {
    answers.push(await search(url, sender, token));
  }
  assert.deepEqual([...new Set(answers.map((a) => a.isolate))].sort(), ["http-1", "http-2"]);
  return answers;
}

const cli = (dataDir: string, ...args: string[]) => runCliProcess(args, { DCI_DATA_DIR: dataDir });

Deno.test("keys retire (CLI): the next request with a token of the retired key is refused on every HTTP isolate", async () => {
  const server = await startWorkerServer({ DCI_HTTP_ISOLATES: "2" });
  try {
    const alice = await createServerSender(server);
    const [, keyId] = JSON.parse(Buffer.from(alice.token.split(".")[0], "base64url").toString()).kid.split(
      "|",
    );
    const rotated = await cli(server.dataDir, "keys", "rotate", "--now");
    assert.equal(rotated.code, 0, rotated.stderr);
    // Both isolates accept the token (its key is still published) and hold it in their verified-token caches.
    for (const a of await untilBothIsolates(server.url, alice, alice.token)) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
    }
    const retired = await cli(server.dataDir, "keys", "retire", keyId, "--force");
    assert.equal(retired.code, 0, retired.stderr);
    for (const a of await untilBothIsolates(server.url, alice, alice.token)) {
      assert.equal(a.status, 401, `${a.isolate}: ${JSON.stringify(a.body)}`);
      assert.match(
        (a.body.message as { error: { message: string } }).error.message,
        /not signed by a key of this server/,
      );
    }
    // A token from the new key works on both.
    const fresh = await fetchToken(server.url, alice.clientId, alice.clientSecret);
    for (const a of await untilBothIsolates(server.url, alice, fresh)) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
    }
  } finally {
    await server.stop();
  }
});
