/**
 * A search's statement time budget on PostgreSQL (src/db/pg/budget.ts), as on SQLite: only a statement that works
 * past what is left of the budget (never less than MIN_TIMEOUT_MS) is refused; a cheap one runs even when the
 * request's earlier items used the budget up, since their wall time also counted round trips and load.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { MIN_TIMEOUT_MS, pgWithBudget } from "../../src/db/pg/budget.ts";
import { BudgetExceeded, statementBudget } from "../../src/db/budget.ts";
import { freshPgDatabase } from "../helpers/storage.ts";

Deno.test("pgWithBudget: a cheap statement runs on a used-up budget; one working past it is refused", async () => {
  const pool = openPgPool(await freshPgDatabase(), { max: 2 });
  try {
    const budget = statementBudget(100, () => Date.now());
    budget.spentMs = 250; // earlier items (their round trips, a loaded machine) used it up
    const rows = await pgWithBudget(pool, budget, async (c) => (await c.query("SELECT 1 AS one")).rows);
    equal(rows[0].one, 1);
    ok(budget.spentMs >= 250, "the transaction's time is added");
    const sleep = `SELECT pg_sleep(${(MIN_TIMEOUT_MS * 5) / 1000})`;
    await rejects(pgWithBudget(pool, budget, (c) => c.query(sleep)), BudgetExceeded);
    // With budget left the statement gets what is left, not the floor.
    const fresh = statementBudget(1000, () => Date.now());
    await pgWithBudget(pool, fresh, (c) => c.query(sleep));
    ok(fresh.spentMs >= MIN_TIMEOUT_MS * 5);
  } finally {
    await pool.end();
  }
});
