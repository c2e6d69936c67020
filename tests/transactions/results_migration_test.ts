/** Migration 0032 on a database holding a result stored before it (SQLite: the PostgreSQL twin renames alike). */
import assert from "node:assert/strict";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import {
  claimCallback,
  claimProcessing,
  completeProcessing,
  getTransaction,
} from "../../src/transactions/store.ts";
import { storeBareTransaction } from "./support.ts";

const NOW = "2026-12-01T00:00:00.000Z";
const LATER = "2026-12-01T00:05:00.000Z";

Deno.test("migration 0032: a result stored before stays where it was and is read as plain JSON; new results go to their own table", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 32));
    const old = storeBareTransaction(db, "alice", "old", NOW);
    const legacy = '{"transaction_id":"old","search_response":[],"correlation_id":"c-old"}';
    db.prepare(
      "UPDATE transactions SET state = 'succeeded', outcome = 'succ', result = ?, next_attempt_at = ? WHERE id = ?",
    ).run(legacy, NOW, old);

    // 0032 first, then any later migration.
    assert.equal(migrate(db)[0], "0032_transaction_results");
    const read = getTransaction(db, old)!;
    assert.equal(read.result, legacy);
    assert.equal(read.result_canonical, 0);
    const claimed = claimCallback(db, old, "owner", NOW, LATER)!;
    assert.equal(claimed.result, legacy);
    assert.equal(claimed.result_canonical, 0);
    assert.equal(claimed.attempts, 1);

    // A result stored now: in transaction_results, canonical, nothing in the old column.
    const fresh = storeBareTransaction(db, "alice", "new", NOW);
    assert.ok(claimProcessing(db, fresh, "w", NOW, LATER));
    assert.ok(completeProcessing(db, fresh, "w", {
      outcome: "succ",
      totalCount: 0,
      completedCount: 0,
      result: '{"a":1}',
      callbackMessageId: "cb-1",
    }, NOW));
    const stored = getTransaction(db, fresh)!;
    assert.equal(stored.result, '{"a":1}');
    assert.equal(stored.result_canonical, 1);
    const [row] = db.prepare("SELECT legacy_result FROM transactions WHERE id = ?").all(fresh);
    assert.equal(row.legacy_result, null);
    // A second completion never happens (the lease moved on): nothing is stored twice.
    assert.equal(
      completeProcessing(db, fresh, "w", {
        outcome: "succ",
        totalCount: 0,
        completedCount: 0,
        result: '{"b":2}',
        callbackMessageId: "cb-2",
      }, NOW),
      false,
    );
    assert.equal(getTransaction(db, fresh)!.result, '{"a":1}');

    // Results go with their transactions.
    db.exec("DELETE FROM transactions");
    assert.equal(
      Number((db.prepare("SELECT count(*) AS n FROM transaction_results").get() as { n: number }).n),
      0,
    );
  } finally {
    db.close();
  }
});
