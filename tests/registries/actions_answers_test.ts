/**
 * The action table's response schemas are the real answers: every sync answer and every async callback the
 * server sends parses with its action's `response` schema (strict shapes, no `z.unknown()` messages), the OpenAPI
 * document shows those shapes, and header-level rejections on sync actions are complete answers of that type.
 */
import assert from "node:assert/strict";
import { AnswerChecker } from "../operations/openapi_support.ts";
import { actionNamed, ACTIONS, asyncAction } from "../../src/dci/actions.ts";
import type { TxnAction } from "../../src/transactions/states.ts";
import { harness, type Json, searchMessage } from "../transactions/support.ts";
import { resolve } from "./openapi_support.ts";

function strictParse(name: Parameters<typeof actionNamed>[0], message: unknown): void {
  const r = actionNamed(name).response.safeParse(message);
  assert.ok(r.success, `${name} answer matches its schema: ${JSON.stringify(r.error?.issues)}`);
}

Deno.test("sync answers parse with their action's response schema", async () => {
  const h = await harness();
  try {
    const search = await h.post("/registry/sync/search", searchMessage("t-s", 2));
    assert.equal(search.status, 200);
    strictParse("sync-search", search.body.message);
    const status = await h.post("/registry/sync/txn/status", {
      transaction_id: "t-q",
      txnstatus_request: {
        reference_id: "q",
        txn_type: "search",
        attribute_type: "transaction_id",
        attribute_value: "x",
      },
    }, { action: "txn-status" });
    assert.equal(status.status, 200);
    strictParse("sync-txn-status", status.body.message);
    const receipt = await h.post("/registry/sync/receipt", {
      transaction_id: "t-r",
      notification_id: "nope",
    });
    assert.equal(receipt.status, 200);
    assert.equal((receipt.body as Json).message.receipt_response.status, "rjct");
    strictParse("sync-receipt", receipt.body.message);
  } finally {
    h.close();
  }
});

Deno.test("every async callback parses with its action's response schema", async () => {
  const h = await harness();
  try {
    const now = () => new Date(h.deps.clock.now()).toISOString();
    const search = await h.post("/registry/search", searchMessage("t-as", 1));
    const sub = await h.post("/registry/subscribe", {
      transaction_id: "t-sub",
      subscribe_request: [
        {
          reference_id: "r1",
          timestamp: now(),
          subscribe_criteria: { reg_event_type: "update", notify_record_type: "person" },
        },
        { reference_id: "" },
        {
          // Its filter is answered as sent: a predicate list (SubscriptionInfo.filter is not an object alone).
          reference_id: "r2",
          timestamp: now(),
          subscribe_criteria: {
            reg_event_type: "update",
            notify_record_type: "person",
            filter_type: "predicate",
            filter: [{
              seq_num: 1,
              expression1: { attribute_name: "sex", operator: "eq", attribute_value: "male" },
            }],
          },
        },
      ],
    });
    await h.drain();
    const code = (h.http.sent.find((s) => (s.body as Json).header.action === "on-subscribe")!.body as Json)
      .message.subscribe_response[0].subscriptions[0].code;
    await h.post("/registry/unsubscribe", {
      transaction_id: "t-un",
      timestamp: now(),
      subscription_codes: [code, "x"],
    });
    await h.post("/registry/txn/status", {
      transaction_id: "t-st",
      txnstatus_request: {
        reference_id: "q",
        txn_type: "search",
        attribute_type: "correlation_id",
        attribute_value: (search.body as Json).message.correlation_id,
      },
    }, { action: "txn-status" });
    await h.post("/registry/txn/status", {
      transaction_id: "t-st2",
      txnstatus_request: { attribute_type: "subscription_code_list", attribute_value: [code] },
    }, { action: "txn-status" });
    await h.post("/registry/receipt", { transaction_id: "t-rc", notification_id: "nope" });
    await h.drain();
    assert.equal(sub.status, 202);
    const seen = new Set<string>();
    for (const s of h.http.sent) {
      const action = (s.body as Json).header.action as string;
      const spec = ACTIONS.find((a) => a.mode === "async" && a.callbackAction === action)!;
      const r = asyncAction(spec.family as TxnAction).response.safeParse((s.body as Json).message);
      assert.ok(r.success, `${action}: ${JSON.stringify(r.error?.issues)} ${JSON.stringify(s.body)}`);
      seen.add(action);
    }
    assert.deepEqual([...seen].sort(), [
      "on-receipt",
      "on-search",
      "on-subscribe",
      "on-unsubscribe",
      "txn-on-status",
    ]);
  } finally {
    h.close();
  }
});

Deno.test("a header-level rejection on each sync action is that action's complete answer", async () => {
  const h = await harness();
  try {
    const bodies: Record<string, Record<string, unknown>> = {
      "sync-search": searchMessage("t-x", 2),
      "sync-txn-status": {
        transaction_id: "t-y",
        txnstatus_request: {
          reference_id: "q",
          txn_type: "search",
          attribute_type: "transaction_id",
          attribute_value: "x",
        },
      },
      "sync-receipt": { transaction_id: "t-z", notification_id: "n1" },
    };
    const checker = new AnswerChecker(await (await h.app.request("/dci_api/v1/openapi.json")).json());
    for (const [name, message] of Object.entries(bodies)) {
      const spec = actionNamed(name as Parameters<typeof actionNamed>[0]);
      const res = await h.post(`/registry${spec.path}`, message, { action: "unsubscribe" });
      assert.equal(res.status, 400, name);
      assert.deepEqual(
        checker.errors("POST", `/registry${spec.path}`, 400, res.body),
        [],
        `${name}: as documented`,
      );
      const body = res.body as Json;
      assert.equal(body.header.action, spec.callbackAction, name);
      assert.equal(body.header.status, "rjct");
      assert.equal(body.header.status_reason_code, "rjct.action.invalid");
      strictParse(spec.name, body.message);
    }
  } finally {
    h.close();
  }
});

Deno.test("the OpenAPI document shows each action's real answer shape", async () => {
  const h = await harness();
  try {
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    const answer = (path: string) => {
      const env = resolve(doc, doc.paths[path].post.responses["200"].content["application/json"].schema);
      return resolve(doc, env.properties.message);
    };
    assert.ok(answer("/registry/sync/search").properties.search_response);
    assert.ok(answer("/dci_api/v1/social/registry/sync/txn/status").properties.txnstatus_response);
    assert.ok(answer("/dci_api/v1/social/registry/sync/receipt").properties.receipt_response);
    const ack = resolve(
      doc,
      doc.paths["/registry/subscribe"].post.responses["202"].content["application/json"].schema,
    );
    assert.ok(resolve(doc, ack.properties.message).properties.ack_status);
    const sub = resolve(
      doc,
      doc.paths["/registry/subscribe"].post.requestBody.content["application/json"].schema,
    );
    assert.ok(resolve(doc, sub.properties.message).properties.subscribe_request);
  } finally {
    h.close();
  }
});

Deno.test("src/transactions imports nothing of src/subscriptions (no import cycle between the two)", async () => {
  const imports = async (dir: string) => {
    const found: string[] = [];
    for await (const e of Deno.readDir(new URL(`../../src/${dir}/`, import.meta.url))) {
      const text = await Deno.readTextFile(new URL(`../../src/${dir}/${e.name}`, import.meta.url));
      for (const m of text.matchAll(/from "(\.\.\/[a-z_]+)\/[^"]+"/g)) found.push(`${e.name} -> ${m[1]}`);
    }
    return found;
  };
  const fromTransactions = (await imports("transactions")).filter((l) => l.endsWith("../subscriptions"));
  assert.deepEqual(fromTransactions, [], "transactions imports nothing of subscriptions");
});
