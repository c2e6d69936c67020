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

Deno.test("the transaction list with a rare state and a sender or registry reads the state's index; callback_sent the other's", () => {
  const plan = (f: Partial<TxnFilter>) => {
    const q = txnListQuery({ limit: 50, ...f } as TxnFilter, undefined);
    return planOf(q.sql, q.args);
  };
  assert.match(
    plan({ state: "callback_failed", senderId: "p" }),
    /USING INDEX transactions_list_state \(state=\?\)/,
  );
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
