/** withStatementBudget() and the dci_budget() SQL function every connection has (issue 11, item 1). */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { BUDGET_FUNCTION, BudgetExceeded, withStatementBudget } from "../../src/db/budget.ts";
import { stmt } from "../../src/db/statements.ts";

Deno.test("withStatementBudget() aborts a running statement at its deadline; the statement runs again after", async () => {
  const deps = await testDeps();
  try {
    let t = 0;
    const budget = { deadline: 100, budgetMs: 100, now: () => t++ };
    const sql =
      `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE ${BUDGET_FUNCTION}(x) ` +
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
