/**
 * A search's statement time budget on PostgreSQL (src/db/pg/budget.ts), as on SQLite: only a statement that works
 * past what is left of the budget (never less than MIN_TIMEOUT_MS) is refused; a cheap one runs even when the
 * request's earlier items used the budget up, since their wall time also counted round trips and load.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { openPgPool, type PgClient } from "../../src/db/pg/pool.ts";
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

Deno.test("pgWithBudget: tighten sets the timeout again to what the earlier statements left of the budget", async () => {
  // One connection, warmed up: a new connection's first statements read the catalog (~20 ms here).
  const pool = openPgPool(await freshPgDatabase(), { max: 1 });
  await pool.query("SELECT pg_sleep(0), current_setting('statement_timeout')");
  /** The statement_timeout in force, in ms (SHOW says "1s" for 1000). */
  const timeout = async (c: PgClient) => {
    const shown: string = (await c.query("SHOW statement_timeout")).rows[0].statement_timeout;
    return shown.endsWith("ms") ? Number(shown.slice(0, -2)) : Number(shown.slice(0, -1)) * 1000;
  };
  const sleep = (ms: number) => `SELECT pg_sleep(${ms / 1000})`;
  try {
    // Cheap statements leave the timeout as it was set: no round trip of their own.
    const cheap = statementBudget(1000, () => Date.now());
    const [set, kept] = await pgWithBudget(pool, cheap, async (c, tighten) => {
      const set = await timeout(c);
      await c.query("SELECT 1");
      await tighten();
      return [set, await timeout(c)];
    });
    equal(kept, set);
    ok(set > 900, `${set}`);
    // Two statements of 0.6 of the budget each: the timeout bounds each alone, so without tighten both run…
    const each = statementBudget(500, () => Date.now());
    await pgWithBudget(pool, each, async (c) => {
      await c.query(sleep(300));
      await c.query(sleep(300));
    });
    ok(each.spentMs >= 600);
    // …and with it the second gets what the first left (~200 ms) and is stopped.
    const whole = statementBudget(500, () => Date.now());
    let second = 0;
    await rejects(
      pgWithBudget(pool, whole, async (c, tighten) => {
        await c.query(sleep(300));
        await tighten();
        second = await timeout(c);
        await c.query(sleep(300));
      }),
      BudgetExceeded,
    );
    ok(second >= MIN_TIMEOUT_MS && second <= 200, `${second}`);
    ok(whole.spentMs < 560, `${whole.spentMs}`);
  } finally {
    await pool.end();
  }
});
