/**
 * A request's statement time budget (src/db/budget.ts) on PostgreSQL. There the statements run in the server's
 * own process, not on the isolate's event loop, so nothing has to be checked row by row: the read transaction
 * gets `SET LOCAL statement_timeout` of what is left of the budget (never below MIN_TIMEOUT_MS), and PostgreSQL
 * cancels a statement that runs past it (SQLSTATE 57014, query_canceled), which is BudgetExceeded as on SQLite.
 * The timeout bounds each statement on its own, so a transaction of several (a search's count, then its page)
 * sets it again between them (`tighten`) once the earlier ones used more than TIGHTEN_SLACK_MS of it.
 * The time each transaction took is added to the budget, which its items share as on SQLite. Only a statement
 * that works past the budget is refused: an item whose statements are cheap runs even when the request's earlier
 * items used the budget up (the wall time of a transaction also counts its round trips and the machine's load,
 * which say nothing of the query; SQLite never refuses before MIN_CHECKS checks). SQLite, whose statements run on
 * the isolate's event loop, answers an identifier lookup then too but refuses other items without running them.
 */
import { BudgetExceeded, type StatementBudget } from "../budget.ts";
import type { PgClient, PgPool } from "./pool.ts";
import { pgTransaction } from "./query.ts";

/** SQLSTATE of a statement cancelled by statement_timeout (or a cancel request). */
const QUERY_CANCELED = "57014";

/**
 * The shortest statement_timeout set: a statement is never stopped before it has run this long, as SQLite's
 * budget never stops a statement before MIN_CHECKS checks. Below that, the time a statement took says more about
 * the machine's load (or a new connection reading its catalog) than about what the query costs.
 */
export const MIN_TIMEOUT_MS = 10;

/**
 * How much of the timeout set the statements run so far may have used before `tighten` sets it again (a round
 * trip): a statement may run this much past the budget, and a cheap search's statements pay no extra round trip.
 */
export const TIGHTEN_SLACK_MS = 5;

/**
 * Sets the transaction's statement_timeout again to what is left of the budget, when the statements run since it
 * was set used more than TIGHTEN_SLACK_MS of it; call it between the statements of a transaction.
 */
export type Tighten = () => Promise<void>;

/**
 * Runs `fn` in a read-only REPEATABLE READ transaction (its statements see one snapshot, as the count and the
 * page of a search must) bounded by what is left of `budget`, at least MIN_TIMEOUT_MS (none: unbounded); `fn`
 * calls `tighten` between its statements. Throws BudgetExceeded when a statement runs past the budget.
 */
export async function pgWithBudget<T>(
  pool: PgPool,
  budget: StatementBudget | undefined,
  fn: (client: PgClient, tighten: Tighten) => Promise<T>,
): Promise<T> {
  const start = budget?.now() ?? 0;
  /** What is left of the budget now, at least MIN_TIMEOUT_MS. */
  const left = (b: StatementBudget) =>
    Math.max(MIN_TIMEOUT_MS, Math.ceil(b.budgetMs - b.spentMs - (b.now() - start)));
  try {
    // One round trip opens the transaction and sets its timeout (a simple query of two statements, no values).
    let armed = budget && left(budget);
    const begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" +
      (armed ? `; SET LOCAL statement_timeout = ${armed}` : "");
    return await pgTransaction(pool, (client) =>
      fn(client, async () => {
        if (!budget || !armed) return;
        const now = left(budget);
        if (now >= armed - TIGHTEN_SLACK_MS) return;
        await client.query(`SET LOCAL statement_timeout = ${now}`);
        armed = now;
      }), begin);
  } catch (err) {
    if (budget && (err as { code?: string }).code === QUERY_CANCELED) {
      throw new BudgetExceeded(budget.budgetMs);
    }
    throw err;
  } finally {
    if (budget) budget.spentMs += budget.now() - start;
  }
}
