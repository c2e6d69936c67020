/**
 * A bulk run's next page and a progress view's pages not delivered are read through the index of the pages not
 * sent (migration 0046), not by walking every sent page of the primary key first (quadratic over a run of
 * 100,000 pages). SQLite's plan; PostgreSQL has the same index and conditions.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { FIRST_PENDING_PAGE, UNDELIVERED_PAGES } from "../../src/transactions/bulk_store.ts";

Deno.test("a bulk run's next page and its undelivered pages are read through the index of unsent pages", async () => {
  const deps = await testDeps();
  try {
    for (const [sql, args] of [[FIRST_PENDING_PAGE, [1]], [UNDELIVERED_PAGES, [1, 20]]] as const) {
      const plan = (deps.db!.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>)
        .map((r) => r.detail);
      assert.ok(
        plan.some((d) => /USING COVERING INDEX bulk_pages_unsent \(txn=\?\)/.test(d)),
        plan.join("\n"),
      );
    }
  } finally {
    deps.close();
  }
});
