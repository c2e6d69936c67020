/**
 * Header fields sent as `null` (issue 12 §2): Pydantic model dumps write every unset optional field so
 * (`sender_uri: null, receiver_id: null, meta: null`). They read as absent on every endpoint, sync and async,
 * and the signature still covers them as sent.
 */
import assert from "node:assert/strict";
import { createApp } from "../../src/app.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { postApp } from "./support.ts";

const NULLS = { sender_uri: null, receiver_id: null, meta: null, is_msg_encrypted: null, version: null };

Deno.test("every registry endpoint reads null optional header fields as absent, never 400", async () => {
  const deps = await testDeps();
  try {
    // The registered callback URL stands in for the absent sender_uri of async requests.
    const alice = await createTestSender(deps, { callback_base_url: "https://alice.example/cb" });
    const app = createApp(deps);
    const ts = () => new Date(deps.clock.now()).toISOString();
    const searchItem = () => ({
      reference_id: "r1",
      timestamp: ts(),
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "nobody" } },
    });
    const txnStatus = {
      transaction_id: "t-status",
      txnstatus_request: { attribute_type: "transaction_id", attribute_value: "t-search" },
    };
    const endpoints: Array<[string, string, Record<string, unknown>, number]> = [
      ["/registry/sync/search", "search", { transaction_id: "t-sync", search_request: [searchItem()] }, 200],
      ["/registry/search", "search", { transaction_id: "t-search", search_request: [searchItem()] }, 202],
      ["/registry/subscribe", "subscribe", {
        transaction_id: "t-sub",
        subscribe_request: [{
          reference_id: "s1",
          timestamp: ts(),
          subscribe_criteria: { reg_event_type: "update" },
        }],
      }, 202],
      ["/registry/unsubscribe", "unsubscribe", {
        transaction_id: "t-unsub",
        timestamp: ts(),
        subscription_codes: ["nope"],
      }, 202],
      ["/registry/txn/status", "txn-status", txnStatus, 202],
      ["/registry/sync/txn/status", "txn-status", { ...txnStatus, transaction_id: "t-status-2" }, 200],
      ["/registry/receipt", "receipt", { transaction_id: "t-rcpt", notification_id: "n1" }, 202],
      ["/registry/sync/receipt", "receipt", { transaction_id: "t-rcpt-2", notification_id: "n1" }, 200],
      ["/dci_api/v1/crvs/registry/sync/search", "search", {
        transaction_id: "t-crvs",
        search_request: [searchItem()],
      }, 200],
    ];
    for (const [path, action, message, expected] of endpoints) {
      const env = requestEnvelope(alice.senderId, message, {
        action,
        nowMs: deps.clock.now(),
        totalCount: 1,
      });
      Object.assign(env.header, NULLS);
      const res = await postApp(app, alice.headers(), alice.sign(env), path);
      assert.equal(res.status, expected, `${path}: ${JSON.stringify(res.body)}`);
    }
  } finally {
    deps.close();
  }
});

Deno.test("a null header field is still covered by the signature, and a required one sent as null is refused", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const post = (body: unknown) => postApp(app, alice.headers(), body);
    const message = { transaction_id: "t1", search_request: [{ reference_id: "r1", timestamp: "x" }] };
    const env = requestEnvelope(alice.senderId, message, { nowMs: deps.clock.now(), totalCount: 1 });
    Object.assign(env.header, { sender_uri: null, meta: null });
    const signed = alice.sign(env);
    // Dropping the null fields changes the signed bytes: the signer hashed `"meta":null`.
    const { sender_uri: _u, meta: _m, ...without } = signed.header;
    const res = await post({ ...signed, header: without });
    assert.equal(res.status, 401);
    assert.equal(res.body.message.error.code, "err.signature.invalid");
    const required = requestEnvelope(alice.senderId, message, { nowMs: deps.clock.now(), totalCount: 1 });
    Object.assign(required.header, { action: null });
    const refused = await post(alice.sign(required));
    assert.equal(refused.status, 400);
    assert.match(refused.body.message.error.message, /header\.action/);
  } finally {
    deps.close();
  }
});
