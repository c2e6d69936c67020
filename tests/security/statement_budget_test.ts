/** withStatementBudget() and the dci_budget() SQL function every connection has (issue 11, item 1). */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import {
  budgetCheck,
  BudgetExceeded,
  MIN_CHECKS,
  statementBudget,
  withStatementBudget,
} from "../../src/db/budget.ts";
import { stmt } from "../../src/db/statements.ts";

Deno.test("withStatementBudget() aborts a running statement at its deadline; the statement runs again after", async () => {
  const deps = await testDeps();
  try {
    let t = 0;
    const budget = statementBudget(100, () => t++);
    const sql = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE ${budgetCheck("x")} ` +
      `AND x < ?) SELECT COUNT(*) AS n FROM c`;
    assert.throws(
      () => withStatementBudget(deps.db, budget, () => stmt(deps.db, sql).get(1_000_000_000)),
      (e) => e instanceof BudgetExceeded && e.budgetMs === 100,
    );
    assert.ok(t > 100 && t < 110, `checked ${t} times`);
    // The cached statement is usable again, and outside a budget the function never throws.
    assert.deepEqual({ ...stmt(deps.db, sql).get(1000) }, { n: 1000 });
    // A budget already spent refuses before any statement runs.
    assert.throws(() => withStatementBudget(deps.db, budget, () => assert.fail("ran")), BudgetExceeded);
  } finally {
    deps.close();
  }
});

Deno.test("withStatementBudget() never stops a request that examined little, however long its statements took", async () => {
  const deps = await testDeps();
  try {
    // A clock that jumps a second per reading: a loaded machine that deschedules the process mid-statement.
    let t = 0;
    const budget = statementBudget(100, () => (t += 1000));
    const sql = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE ${budgetCheck("x")} ` +
      `AND x < ?) SELECT COUNT(*) AS n FROM c`;
    for (let i = 0; i < 3; i++) {
      const n = MIN_CHECKS / 4;
      assert.deepEqual({ ...withStatementBudget(deps.db, budget, () => stmt(deps.db, sql).get(n)) }, { n });
    }
    assert.ok(budget.spentMs > budget.budgetMs, `spent ${budget.spentMs} ms`);
    // Once the request has done real work, the same budget stops it.
    assert.throws(
      () => withStatementBudget(deps.db, budget, () => stmt(deps.db, sql).get(1e9)),
      BudgetExceeded,
    );
  } finally {
    deps.close();
  }
});
