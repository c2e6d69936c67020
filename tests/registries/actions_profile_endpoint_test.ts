/**
 * A registry-specific endpoint (ProfileAction) mounted by the action table: authenticated, signature-checked,
 * header-checked, its answer signed, and header-level rejections rendered as its complete answer.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { type Json, verifyWithJwks } from "../transactions/support.ts";
import { PingResponse, testActionProfile } from "./test_action_profile.ts";
import { resolve } from "./openapi_support.ts";

const PATH = "/dci_api/v1/testreg/registry/sync/ping";

async function setup(overrides: Record<string, string> = {}) {
  const deps = await testDeps(overrides);
  const { profile, seen } = testActionProfile();
  deps.extensions = { registries: [profile] };
  const app = createApp(deps);
  const alice = await createTestSender(deps);
  return { deps, app, alice, seen };
}

function ping(transactionId: string, refs: string[]): Record<string, unknown> {
  return { transaction_id: transactionId, ping_request: refs.map((reference_id) => ({ reference_id })) };
}

async function post(
  t: { deps: TestDeps; app: ReturnType<typeof createApp> },
  sender: TestSender,
  body: object,
  headers: Record<string, string> = sender.headers(),
): Promise<{ status: number; body: Json }> {
  const res = await t.app.request(PATH, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function signed(t: { deps: TestDeps }, sender: TestSender, message: Record<string, unknown>, header = {}) {
  const env = requestEnvelope(sender.senderId, message, {
    nowMs: t.deps.clock.now(),
    totalCount: 2,
    header,
  });
  return sender.sign(env, t.deps.clock.now());
}

async function jwks(t: { app: ReturnType<typeof createApp> }) {
  return await (await t.app.request("/.well-known/jwks.json")).json();
}

Deno.test("profile action: a signed request is answered with the handler's message, signed as on-search", async () => {
  const t = await setup();
  try {
    const res = await post(t, t.alice, signed(t, t.alice, ping("tx-1", ["a", "b"])));
    assert.equal(res.status, 200);
    assert.equal(res.body.header.action, "on-search");
    assert.equal(res.body.header.status, "succ");
    assert.equal(res.body.header.receiver_id, t.alice.senderId);
    assert.equal(res.body.header.total_count, 2);
    assert.ok(verifyWithJwks(res.body, await jwks(t), t.deps.clock.now()), "answer signature verifies");
    PingResponse.parse(res.body.message);
    assert.deepEqual(res.body.message.ping_response.map((i: Json) => [i.reference_id, i.registry]), [
      ["a", "testreg"],
      ["b", "testreg"],
    ]);
    assert.equal(t.seen.length, 1);
    assert.equal(t.seen[0].senderId, t.alice.senderId);
    assert.equal(t.seen[0].registry, "testreg");
    assert.equal(t.seen[0].correlationId, res.body.message.correlation_id);
  } finally {
    t.deps.close();
  }
});

Deno.test("profile action: a wrong header.action is its complete signed rjct answer, every item rejected", async () => {
  const t = await setup();
  try {
    const res = await post(t, t.alice, signed(t, t.alice, ping("tx-2", ["a", "b"]), { action: "subscribe" }));
    assert.equal(res.status, 400);
    assert.equal(res.body.header.action, "on-search");
    assert.equal(res.body.header.status, "rjct");
    assert.equal(res.body.header.status_reason_code, "rjct.action.invalid");
    assert.ok(verifyWithJwks(res.body, await jwks(t), t.deps.clock.now()));
    assert.equal(res.body.message.transaction_id, "tx-2");
    assert.deepEqual(res.body.message.ping_response.map((i: Json) => [i.reference_id, i.status]), [
      ["a", "rjct"],
      ["b", "rjct"],
    ]);
    PingResponse.parse(res.body.message);
    assert.equal(t.seen.length, 0, "the handler never ran");
  } finally {
    t.deps.close();
  }
});

Deno.test("profile action: a replayed message_id and a wrong version are refused as complete answers", async () => {
  const t = await setup();
  try {
    const body = signed(t, t.alice, ping("tx-3", ["a"]));
    assert.equal((await post(t, t.alice, body)).status, 200);
    const replay = await post(t, t.alice, body);
    assert.equal(replay.status, 409);
    assert.equal(replay.body.header.status_reason_code, "rjct.message_id.duplicate");
    assert.equal(replay.body.message.ping_response[0].status, "rjct");
    const old = await post(t, t.alice, signed(t, t.alice, ping("tx-4", ["a"]), { version: "0.9" }));
    assert.equal(old.status, 400);
    assert.equal(old.body.header.status_reason_code, "rjct.version.invalid");
    assert.equal(t.seen.length, 1);
  } finally {
    t.deps.close();
  }
});

Deno.test("profile action: bearer, scope, signature, receiver_id and schema are checked before the handler", async () => {
  const t = await setup();
  try {
    const bob = await createTestSender(t.deps, { scopes: ["registry.subscribe"] });
    const noToken = await post(t, t.alice, signed(t, t.alice, ping("tx-5", ["a"])), {});
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.message.error.code, "err.request.unauthorized");
    const scope = await post(t, bob, signed(t, bob, ping("tx-6", ["a"])));
    assert.equal(scope.status, 403);
    const forged = { ...signed(t, t.alice, ping("tx-7", ["a"])), message: ping("tx-7", ["changed"]) };
    const bad = await post(t, t.alice, forged);
    assert.equal(bad.status, 401);
    assert.equal(bad.body.message.error.code, "err.signature.invalid");
    const other = await post(
      t,
      t.alice,
      signed(t, t.alice, ping("tx-8", ["a"]), { receiver_id: "elsewhere" }),
    );
    assert.equal(other.status, 400);
    assert.equal(other.body.message.error.code, "err.receiver_id.invalid");
    const empty = await post(t, t.alice, signed(t, t.alice, { transaction_id: "tx-9", ping_request: [] }));
    assert.equal(empty.status, 400);
    assert.equal(empty.body.message.error.code, "err.request.bad");
    assert.match(empty.body.message.error.message, /ping_request/);
    assert.equal(t.seen.length, 0);
  } finally {
    t.deps.close();
  }
});

Deno.test("profile action: the OpenAPI document lists it with its request and answer schemas", async () => {
  const t = await setup();
  try {
    const doc = await (await t.app.request("/dci_api/v1/openapi.json")).json();
    const op = doc.paths[PATH]?.post;
    assert.ok(op, "the ping operation is documented");
    const answer = resolve(doc, op.responses["200"].content["application/json"].schema);
    const message = resolve(doc, answer.properties.message);
    assert.ok(message.properties.ping_response, "the answer message is the real shape");
    const request = resolve(doc, op.requestBody.content["application/json"].schema);
    assert.ok(resolve(doc, request.properties.message).properties.ping_request);
  } finally {
    t.deps.close();
  }
});
