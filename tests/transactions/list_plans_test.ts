/**
 * The SQLite plans of two admin reads over a sender's transactions: the transaction list filtered by a rare state and
 * a sender (or registry) walks the state's index, and the open-work count of a disable walks the open states', never
 * every transaction the sender has in retention.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { txnListQuery } from "../../src/transactions/txn_sql.ts";
import { WORK_COUNTS } from "../../src/senders/sender_store.ts";
import type { TxnFilter } from "../../src/transactions/store.ts";
import { notificationListQueries } from "../../src/subscriptions/notifications.ts";

function planOf(sql: string, args: Array<string | number>): string {
  const db = openDatabase(":memory:");
  try {
    migrate(db);
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>)
      .map((r) => r.detail).join(" | ");
  } finally {
    db.close();
  }
}

Deno.test("the transaction list with a rarer state and a sender or registry reads that state's rows (a sender's failures their own index); callback_sent the other's", () => {
  const plan = (f: Partial<TxnFilter>) => {
    const q = txnListQuery({ limit: 50, ...f } as TxnFilter, undefined);
    return planOf(q.sql, q.args);
  };
  // A sender's failed callbacks: the index of the failed rows by sender (migration 0048).
  assert.match(
    plan({ state: "callback_failed", senderId: "p" }),
    /USING INDEX transactions_failed_sender \(sender_id=\?\)/,
  );
  assert.match(plan({ state: "callback_failed", registry: "social" }), /USING INDEX transactions_list_state/);
  assert.match(plan({ state: "pending", senderId: "p" }), /USING INDEX transactions_list_state \(state=\?\)/);
  assert.match(
    plan({ state: "received", registry: "social" }),
    /USING INDEX transactions_list_state \(state=\?\)/,
  );
  assert.match(plan({ state: "callback_sent", senderId: "p" }), /USING INDEX transactions_list_sender/);
  assert.match(plan({ senderId: "p" }), /USING INDEX transactions_list_sender/);
  assert.match(plan({ state: "callback_failed", transactionId: "t" }), /transaction_id=\?/);
});

Deno.test("a sender's open transactions are counted through the open states, not every transaction it has", () => {
  const plan = planOf(WORK_COUNTS.transactions, ["p"]);
  assert.match(plan, /\(state=\?\)/);
  assert.doesNotMatch(plan, /sender_id=\?/);
});

Deno.test("a sender's notification page is looked for first among the newest, read in order through an index", () => {
  const { queries } = notificationListQueries({ sender: "p", limit: 50 }, undefined);
  assert.equal(queries.length, 2);
  const plan = planOf(queries[0].sql, queries[0].params);
  assert.match(
    plan,
    /SCAN n USING INDEX notifications_created|SCAN notifications USING INDEX notifications_created/,
  );
  // The window's rows come in order: only the join's result, at most the window, is sorted after.
  assert.doesNotMatch(plan.split(" | ").slice(0, 2).join(" | "), /TEMP B-TREE/);
  const withStatus = notificationListQueries({ sender: "p", status: "failed", limit: 50 }, undefined);
  assert.match(planOf(withStatus.queries[0].sql, withStatus.queries[0].params), /INDEX notifications_status/);
  // A subscription named: its own index, one statement.
  assert.equal(notificationListQueries({ subscription: "c", sender: "p" }, undefined).queries.length, 1);
});
