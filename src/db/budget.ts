/**
 * A time budget for SQL statements. node:sqlite has no progress handler and no interrupt, and a statement runs
 * synchronously on the isolate's event loop, so a long one stops every other request of the isolate. What it
 * has is user functions: `dci_budget(x)` is registered on every connection, returns 1, and throws once the
 * time left of the request's budget (`withStatementBudget`) has passed, which aborts the statement that called
 * it.
 *
 * A statement is bounded only where it calls the function: on every row of every table it loops over.
 * `budgetTerm(alias.rowid)` is that call, placed FIRST in the WHERE clause: SQLite evaluates the terms of a
 * loop in their order (after those the index answers itself), so a row that fails a later term still pays
 * for the check; naming the table's rowid ties the term to that table's loop. The JS call costs ~0.2 µs,
 * several times a row's own cost, so one row in 32 on average makes it, chosen by `random()`: a gate on the
 * row id (`id & 15`) never fired for a table whose rows of one kind all sit at one stride (households of 15
 * members leave every household id at one residue), and a random gate has no such pattern to fall into.
 *
 * Read budgeted statements with `get()`, `run()` or `iterateRows()` (src/db/statements.ts), never `all()`: in
 * Deno 2.9.6 `all()` steps again after the function's error, SQLite then resets and restarts the statement, the
 * function throws again, and the isolate loops forever (tests/security/search_cost_test.ts keeps that in view).
 * Nor a bare `iterate()`: one the function aborted leaves the cached statement failed, and its next run (another
 * request's) throws ERR_SQLITE_ERROR with an empty message (tests/registry/search_error_test.ts).
 */
import type { Db } from "./sqlite.ts";

/** The SQL name of the budget function. */
export const BUDGET_FUNCTION = "dci_budget";

/** Thrown by `withStatementBudget` when its deadline passed (before or during a statement). */
export class BudgetExceeded extends Error {
  constructor(readonly budgetMs: number) {
    super(`statement time budget of ${budgetMs} ms exceeded`);
    this.name = "BudgetExceeded";
  }
}

/**
 * A request's SQL time budget on the clock `now` (epoch ms). It counts the time its statements run, not the
 * time between them (a wait in the search pool, the other items' JSON), and `checks` counts the budget checks
 * its statements made: a budget is only ever enforced once they reach MIN_CHECKS, so a query that examines a
 * few hundred rows is never refused because the process was descheduled while it ran (a loaded machine).
 */
export interface StatementBudget {
  budgetMs: number;
  now: () => number;
  /** Statement time used so far, in ms (withStatementBudget adds to it). */
  spentMs: number;
  /** Budget checks made so far (one per ~32 rows examined). */
  checks: number;
}

/** A fresh budget of `budgetMs` on the clock `now`. */
export function statementBudget(budgetMs: number, now: () => number): StatementBudget {
  return { budgetMs, now, spentMs: 0, checks: 0 };
}

/**
 * Checks a request makes before its budget can stop it: 64 checks are ~2,000 rows examined, a millisecond or
 * less of work. Below that, the time a statement took says more about the machine's load than its cost.
 */
export const MIN_CHECKS = 64;

interface State {
  budget?: StatementBudget;
  deadline: number;
  exceeded: boolean;
}

const STATES = new WeakMap<Db, State>();

/** Registers `dci_budget()` on a connection (once, at open; statements naming it need it to prepare). */
export function installStatementBudget(db: Db): void {
  const state: State = { deadline: Infinity, exceeded: false };
  STATES.set(db, state);
  db.function(BUDGET_FUNCTION, { deterministic: false, directOnly: true }, (_row: unknown) => {
    const b = state.budget;
    if (b !== undefined && ++b.checks >= MIN_CHECKS && b.now() > state.deadline) {
      state.exceeded = true;
      throw new BudgetExceeded(b.budgetMs);
    }
    return 1;
  });
}

/**
 * The budget check on the rows of one table, as an SQL term (`column` is the table's rowid, an integer that
 * every index of the table covers; NULL, for the missing side of an outer join, passes).
 */
export function budgetTerm(column: string): string {
  return `(random() & 31 OR ${BUDGET_FUNCTION}(${column}))`;
}

/** Whether `budget` is used up: withStatementBudget refuses to run another statement on it. */
export function budgetUsedUp(budget: StatementBudget): boolean {
  return budget.checks >= MIN_CHECKS && budget.spentMs >= budget.budgetMs;
}

/**
 * Runs `fn` (synchronous statements on `db`) within what is left of `budget`: a statement calling `dci_budget`
 * is aborted once the budget's time is used up (and it has made MIN_CHECKS checks), and `fn` throws
 * BudgetExceeded; so does a call made when it is already used up. The time `fn` took is added to the budget.
 */
export function withStatementBudget<T>(db: Db, budget: StatementBudget, fn: () => T): T {
  const state = STATES.get(db);
  if (!state) throw new Error("the connection has no statement budget (open it with openDatabase)");
  if (budgetUsedUp(budget)) throw new BudgetExceeded(budget.budgetMs);
  const outer = { budget: state.budget, deadline: state.deadline };
  const start = budget.now();
  state.budget = budget;
  state.deadline = start + budget.budgetMs - budget.spentMs;
  state.exceeded = false;
  try {
    return fn();
  } catch (err) {
    if (state.exceeded) throw new BudgetExceeded(budget.budgetMs);
    throw err;
  } finally {
    budget.spentMs += budget.now() - start;
    state.budget = outer.budget;
    state.deadline = outer.deadline;
    state.exceeded = false;
  }
}
