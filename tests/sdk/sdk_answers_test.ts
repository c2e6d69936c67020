/**
 * What the SDK's client accepts as the server's answer, with the server's real signer and JWKS in process and
 * whatever sits between them played by the client's `fetch`: a sync answer must be signed, addressed to this
 * sender and an answer to this request; a JWKS that fails to refresh leaves the keys held in use; a late 401
 * does not throw away a token fetched since; the client secret never shows when a client is printed; a search in
 * another registry names that registry's type.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as sdk from "../../sdk/mod.ts";
import { signedEnvelope } from "../../src/dci/envelope.ts";
import { testDeps } from "../helpers/deps.ts";

type Json = Record<string, unknown>;
const SECRET = "dcis_this-secret-must-never-print";
const BASE = "http://dci.test";

/**
 * A client whose requests go to `answer` (given the request's envelope, it returns the body to send back) and
 * whose token and JWKS requests are served by the test's server deps.
 */
async function setup(
  answer: (request: Json, deps: Awaited<ReturnType<typeof testDeps>>) => unknown,
  options: { jwksStatus?: () => number; status?: number } = {},
) {
  const deps = await testDeps();
  const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const seen: Array<{ url: string; body?: string; authorization?: string }> = [];
  let tokens = 0;
  const fetcher: typeof fetch = async (input, init) => {
    const url = String(input);
    const body = typeof init?.body === "string" ? init.body : undefined;
    seen.push({ url, body, authorization: new Headers(init?.headers).get("authorization") ?? undefined });
    if (url.endsWith("/oauth2/client/token")) {
      return Response.json({ access_token: `token-${++tokens}`, token_type: "Bearer", expires_in: 3600 });
    }
    if (url.endsWith("/.well-known/jwks.json")) {
      const status = options.jwksStatus?.() ?? 200;
      return status === 200 ? Response.json(await deps.keys.jwks()) : new Response("down", { status });
    }
    const out = answer(JSON.parse(body!), deps);
    return new Response(typeof out === "string" ? out : JSON.stringify(out), {
      status: options.status ?? 200,
    });
  };
  const client = new sdk.DciClient({
    baseUrl: BASE,
    clientId: "dcic_test",
    clientSecret: SECRET,
    key: await sdk.senderKey("partner-a", "k1", pem),
    serverId: "dci-server",
    fetch: fetcher,
    now: () => deps.clock.now(),
  });
  return { deps, client, seen };
}

/** The server's signed sync answer to `request`, with `over` changing its header fields before signing. */
function signedAnswer(
  deps: Awaited<ReturnType<typeof testDeps>>,
  request: Json,
  over: { receiverId?: string; transactionId?: string } = {},
): Json {
  const header = request.header as Json;
  const message = request.message as Json;
  return signedEnvelope(deps, {
    action: "on-search",
    status: "succ",
    receiverId: over.receiverId ?? String(header.sender_id),
    totalCount: 1,
    completedCount: 1,
  }, {
    transaction_id: over.transactionId ?? message.transaction_id,
    search_response: [],
  }) as unknown as Json;
}

const QUERY = [{ query: { type: "UIN", value: "TEST-001" } }];

Deno.test("sdk DciClient: a signed answer to this request verifies; unsigned, for another partner or another request, it throws", async () => {
  const cases: Array<
    [string, (r: Json, d: Awaited<ReturnType<typeof testDeps>>) => unknown, string | undefined]
  > = [
    ["signed, ours", (r, d) => signedAnswer(d, r), undefined],
    ["signature stripped", (r, d) => ({ ...signedAnswer(d, r), signature: undefined }), "missing"],
    ["for another partner", (r, d) => signedAnswer(d, r, { receiverId: "partner-b" }), "other_receiver"],
    [
      "another request's",
      (r, d) => signedAnswer(d, r, { transactionId: "someone-elses" }),
      "other_transaction",
    ],
  ];
  for (const [what, answer, refused] of cases) {
    const { deps, client } = await setup(answer);
    try {
      if (refused === undefined) {
        const a = await client.search(QUERY);
        assert.equal(a.verification?.ok, true, what);
        continue;
      }
      const err = await client.search(QUERY).then(() => undefined, (e) => e);
      assert.ok(err instanceof sdk.AnswerVerificationError, `${what}: ${err}`);
      const v = err.answer.verification;
      assert.equal(v?.ok === false && v.reason, refused, what);
    } finally {
      deps.close();
    }
  }
});

Deno.test("sdk DciClient: an unsigned ERR ACK (401) or async ACK (202) is returned as it is, not verified", async () => {
  for (const status of [202, 401]) {
    const { deps, client } = await setup(
      () => ({ message: { ack_status: status === 202 ? "ACK" : "ERR" } }),
      {
        status,
      },
    );
    try {
      const a = await client.post("/registry/search", client.envelope(sdk.searchMessage(QUERY), "search"));
      assert.equal(a.status, status);
      assert.equal(a.verification, undefined);
    } finally {
      deps.close();
    }
  }
});

Deno.test("sdk ServerKeys: a failed refresh keeps verifying with the keys held, and is not tried again at once", async () => {
  let down = false;
  const { deps, client, seen } = await setup((r, d) => signedAnswer(d, r), {
    jwksStatus: () => down ? 503 : 200,
  });
  try {
    assert.equal((await client.search(QUERY)).verification?.ok, true);
    const fetches = () => seen.filter((s) => s.url.endsWith("/jwks.json")).length;
    assert.equal(fetches(), 1);
    down = true;
    deps.clock.advance(3_601_000); // the keys are stale: refreshed at the next answer, which fails
    assert.equal((await client.search(QUERY)).verification?.ok, true, "verified with the key held");
    assert.equal(fetches(), 2);
    assert.equal((await client.search(QUERY)).verification?.ok, true);
    assert.equal(fetches(), 2, "no fetch within minRefetchSeconds of the failed one");
    deps.clock.advance(30_000);
    down = false;
    assert.equal((await client.search(QUERY)).verification?.ok, true);
    assert.equal(fetches(), 3);
  } finally {
    deps.close();
  }
});

Deno.test("sdk TokenClient: a 401 for a token already replaced keeps the newer one", async () => {
  const { deps, client } = await setup((r, d) => signedAnswer(d, r));
  try {
    const first = await client.tokens.token();
    client.tokens.invalidate(first);
    const second = await client.tokens.token();
    assert.notEqual(second, first);
    client.tokens.invalidate(first); // a late 401 of a request sent with the first token
    assert.equal(await client.tokens.token(), second);
    assert.equal(client.tokens.fetched, 2);
  } finally {
    deps.close();
  }
});

Deno.test("sdk DciClient: the client secret shows in neither console output nor JSON of a client", async () => {
  const { deps, client } = await setup((r, d) => signedAnswer(d, r));
  try {
    assert.ok(!JSON.stringify(client).includes(SECRET));
    assert.ok(!Deno.inspect(client, { depth: 10 }).includes(SECRET));
    assert.ok(!Deno.inspect(client.tokens, { depth: 10 }).includes(SECRET));
  } finally {
    deps.close();
  }
});

Deno.test("sdk DciClient.search: another registry's search names its registry type; the default path names none", async () => {
  const { deps, client, seen } = await setup((r, d) => signedAnswer(d, r));
  try {
    await client.search(QUERY, { registry: "crvs" });
    await client.search(QUERY);
    await client.search([{ ...QUERY[0], regType: "ns:org:RegistryType:FR" }], { registry: "fr" });
    const sent = seen.filter((s) => s.url.includes("/sync/search"));
    assert.deepEqual(sent.map((s) => s.url.slice(BASE.length)), [
      "/dci_api/v1/crvs/registry/sync/search",
      "/registry/sync/search",
      "/dci_api/v1/fr/registry/sync/search",
    ]);
    const regTypes = sent.map((s) =>
      (JSON.parse(s.body!).message.search_request[0].search_criteria as Json).reg_type ?? null
    );
    assert.deepEqual(regTypes, ["ns:org:RegistryType:Civil", null, "ns:org:RegistryType:FR"]);
  } finally {
    deps.close();
  }
});

Deno.test("sdk ServerKeys.verifyText: a notification for another partner, or of an action the endpoint does not take, is refused", async () => {
  const deps = await testDeps();
  try {
    const keys = new sdk.ServerKeys({
      jwksUrl: `${BASE}/.well-known/jwks.json`,
      fetch: async () => Response.json(await deps.keys.jwks()),
      now: () => deps.clock.now(),
    });
    const notify = JSON.stringify(signedEnvelope(deps, {
      action: "notify",
      status: "succ",
      receiverId: "partner-a",
      totalCount: 1,
      completedCount: 1,
    }, { transaction_id: "t", notify_event: [] }));
    assert.equal((await keys.verifyText(notify, { receiverId: "partner-a", actions: ["notify"] })).ok, true);
    assert.deepEqual(await keys.verifyText(notify, { receiverId: "partner-b" }), {
      ok: false,
      reason: "other_receiver",
    });
    assert.deepEqual(await keys.verifyText(notify, { actions: ["on-search"] }), {
      ok: false,
      reason: "other_action",
    });
  } finally {
    deps.close();
  }
});

Deno.test("sdk buildEnvelope: total_count is the message's item count, IBR's criteria lists and enrolment updates' beneficiaries too", () => {
  const count = (message: Json) =>
    sdk.buildEnvelope(message, { senderId: "partner-a", action: "search" }).header.total_count;
  assert.equal(count({ transaction_id: "t", search_request: [{}, {}, {}] }), 3);
  assert.equal(count({ transaction_id: "t", enrolled_criteria: [{}, {}] }), 2);
  assert.equal(count({ transaction_id: "t", enrolled_criteria: {} }), 1, "one criteria object");
  assert.equal(count({ transaction_id: "t", enrolled_updates: { beneficiaries: [{}, {}, {}, {}] } }), 4);
  assert.equal(count({ transaction_id: "t", receipt_information: { beneficiaries: [{}, {}] } }), 2);
  assert.equal(count({ transaction_id: "t" }), 1);
  assert.equal(
    sdk.buildEnvelope({ search_request: [{}] }, { senderId: "a", action: "search", totalCount: 5 }).header
      .total_count,
    5,
  );
});
