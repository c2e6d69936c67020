/**
 * withStatementBudget() and the dci_budget() SQL function every connection has (issue 11, item 1), and the
 * admin API's registry counts it bounds.
 */
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
import { createApp } from "../helpers/app.ts";

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

Deno.test("the admin API's registry counts stop at DCI_SEARCH_BUDGET_MS and answer 400 naming `registry stats`; the CLI's count all", async () => {
  const deps = await testDeps({ searchBudgetMs: "1" });
  try {
    // 100,000 index entries to count (~10 ms), far past the 1 ms budget; rows alone (no record data) suffice.
    deps.db.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
      INSERT INTO registrants (record_type, external_id, registration_date, last_updated, registry)
      SELECT 'person', 'P' || x, '2026-01-01', '2026-01-01', 'social' FROM c`);
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "viewer" });
    const counts = (registry: string) =>
      app.request(`/admin/v1/registries/${registry}/registrants?counts=true&limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
    const refused = await counts("social");
    assert.equal(refused.status, 400);
    const error = (await refused.json()).message.error;
    assert.equal(error.code, "err.request.bad");
    assert.match(
      error.message,
      /DCI_SEARCH_BUDGET_MS \(1 ms\).*`dci-server registry stats --registry social`/,
    );
    // A small registry beside it is counted within the budget (its own index entries only).
    const small = await counts("crvs");
    assert.equal(small.status, 200);
    assert.equal((await small.json()).counts.deleted, 0);
    // The store without a budget (the CLI's `registry stats`) counts every one.
    assert.deepEqual(await deps.storage.registry.counts("social"), { person: 100_000, group: 0, deleted: 0 });
  } finally {
    deps.close();
  }
});
