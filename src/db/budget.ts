/**
 * A time budget for SQL statements. node:sqlite has no progress handler and no interrupt, and a statement runs
 * synchronously on the isolate's event loop, so a long one stops every other request of the isolate. What it
 * has is user functions: `dci_budget(x)` is registered on every connection and returns 1 until the time left of
 * the request's budget (`withStatementBudget`) has passed; then it returns STOP, whose `abs()` is an "integer
 * overflow" error of SQLite's own, which aborts the statement that called `budgetCheck()`.
 *
 * Not a JS exception thrown from the function, as it was: Deno 2.9.6 mishandles those. `all()` steps again after
 * one (SQLite restarts the statement, the function throws again: the isolate looped forever), and an `iterate()`
 * stopped by one leaves its statement failed, so the next run of that cached statement (another request's, with
 * time to spare) threw ERR_SQLITE_ERROR with an empty message and answered 500 (bench/registry.ts saw it, under
 * load). An SQLite error is reported by `get()`, `all()` and `run()` at once, and the statement runs again after.
 * `iterate()` is not used at all (a test keeps src/ free of it): it ends without an error when a step fails in
 * SQLite (out of memory, I/O, this budget's stop), which would answer a page cut short as if it were complete.
 *
 * A statement is bounded only where it calls the function: on every row of every table it loops over.
 * `budgetTerm(alias.rowid)` is that call, placed FIRST in the WHERE clause: SQLite evaluates the terms of a
 * loop in their order (after those the index answers itself), so a row that fails a later term still pays
 * for the check; naming the table's rowid ties the term to that table's loop. The JS call costs ~0.2 µs,
 * several times a row's own cost, so one row in 32 on average makes it, chosen by `random()`: a gate on the
 * row id (`id & 15`) never fired for a table whose rows of one kind all sit at one stride (households of 15
 * members leave every household id at one residue), and a random gate has no such pattern to fall into.
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

/** A fresh budget of `budgetMs` on the wall clock (performance.now()); none when not given (or 0). */
export function wallClockBudget(budgetMs: number | undefined): StatementBudget | undefined {
  return budgetMs ? statementBudget(budgetMs, () => performance.now()) : undefined;
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

/** What `dci_budget` returns once the budget is used up: SQLite's `abs()` of it fails ("integer overflow"). */
const STOP = -9223372036854775808n;

/** Registers `dci_budget()` on a connection (once, at open; statements naming it need it to prepare). */
export function installStatementBudget(db: Db): void {
  const state: State = { deadline: Infinity, exceeded: false };
  STATES.set(db, state);
  db.function(BUDGET_FUNCTION, { deterministic: false, directOnly: true }, (_row: unknown) => {
    const b = state.budget;
    if (b !== undefined && ++b.checks >= MIN_CHECKS && b.now() > state.deadline) {
      state.exceeded = true;
      return STOP;
    }
    return 1;
  });
}

/**
 * The budget check of one row, as an SQL expression: 1 while the budget lasts, then an SQLite error that stops the
 * statement (`column` is the row's id; NULL, for the missing side of an outer join, passes).
 */
export function budgetCheck(column: string): string {
  return `abs(${BUDGET_FUNCTION}(${column}))`;
}

/**
 * The budget check on the rows of one table, as an SQL term (`column` is the table's rowid, an integer that
 * every index of the table covers), made on one row in 32.
 */
export function budgetTerm(column: string): string {
  return `(random() & 31 OR ${budgetCheck(column)})`;
}

/** Whether `budget` is used up: withStatementBudget refuses to run another statement on it. */
export function budgetUsedUp(budget: StatementBudget): boolean {
  return budget.checks >= MIN_CHECKS && budget.spentMs >= budget.budgetMs;
}

/**
 * Runs `fn` (synchronous statements on `db`) within what is left of `budget`: a statement calling `budgetCheck`
 * is aborted once the budget's time is used up (and it has made MIN_CHECKS checks), and `fn` throws
 * BudgetExceeded; so does a call made when it is already used up. The time `fn` took is added to the budget.
 * Without a budget, `fn` runs unbounded (as pgWithBudget's).
 */
export function withStatementBudget<T>(db: Db, budget: StatementBudget | undefined, fn: () => T): T {
  if (budget === undefined) return fn();
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
