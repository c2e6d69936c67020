/**
 * A search's statement time budget on PostgreSQL (src/db/pg/budget.ts), as on SQLite: only a statement that works
 * past what is left of the budget (never less than MIN_TIMEOUT_MS) is refused; a cheap one runs even when the
 * request's earlier items used the budget up, since their wall time also counted round trips and load.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { openPgPool, type PgClient } from "../../src/db/pg/pool.ts";
import { MIN_TIMEOUT_MS, pgWithBudget, TIGHTEN_SLACK_MS } from "../../src/db/pg/budget.ts";
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
  const pool = openPgPool(await freshPgDatabase(), { max: 1 });
  /** The statement_timeout in force, in ms (SHOW says "1s" for 1000). */
  const timeout = async (c: PgClient) => {
    const shown: string = (await c.query("SHOW statement_timeout")).rows[0].statement_timeout;
    return shown.endsWith("ms") ? Number(shown.slice(0, -2)) : Number(shown.slice(0, -1)) * 1000;
  };
  // The budget's clock is the test's: what the statements "took" is what the test says, whatever the load.
  let t = 0;
  const budget = (ms: number) => statementBudget(ms, () => t);
  try {
    // Statements that used less than TIGHTEN_SLACK_MS leave the timeout as it was set: no round trip of their own.
    const cheap = budget(1000);
    const [set, kept] = await pgWithBudget(pool, cheap, async (c, tighten) => {
      const set = await timeout(c);
      t += TIGHTEN_SLACK_MS - 1;
      await tighten();
      return [set, await timeout(c)];
    });
    equal(set, 1000);
    equal(kept, 1000);
    // Without tighten the timeout set at the start bounds each statement on its own…
    const each = budget(2000);
    await pgWithBudget(pool, each, async (c) => {
      t += 1900;
      equal(await timeout(c), 2000);
      await c.query("SELECT pg_sleep(0.3)");
    });
    // …and with it the next statement gets what the earlier ones left (never below MIN_TIMEOUT_MS).
    const whole = budget(2000);
    await rejects(
      pgWithBudget(pool, whole, async (c, tighten) => {
        t += 1800;
        await tighten();
        equal(await timeout(c), 200);
        await c.query("SELECT pg_sleep(2)");
      }),
      BudgetExceeded,
    );
    const floor = budget(100);
    await pgWithBudget(pool, floor, async (c, tighten) => {
      t += 500;
      await tighten();
      equal(await timeout(c), MIN_TIMEOUT_MS);
    });
  } finally {
    await pool.end();
  }
});
