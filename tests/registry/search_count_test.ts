/**
 * The count of a search without the budget check on every row where its LIMIT bounds it (src/registry/search_count.ts):
 * a conjunction one index range answers is counted unchecked; anything that could read rows it does not count keeps
 * the check, so the statement budget still stops it. SQLite only (PostgreSQL bounds a search by statement_timeout).
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { ROWS_PER_MS, uncheckedCountFrom } from "../../src/registry/search_count.ts";
import { prepareItem } from "../../src/registry/search_item.ts";
import { toSql } from "../../src/registry/query_sql.ts";
import { valueEstimator } from "../../src/registry/query_intersect.ts";
import { searchItem } from "../../src/registry/search.ts";
import { statementBudget } from "../../src/db/budget.ts";

const SQLITE_ONLY = TEST_BACKEND === "postgres";
const PERSONS = 8000;

/** PERSONS persons born in 1990 (three women in four) and a household with one member born in 1980. */
async function registry(): Promise<TestDeps> {
  const deps = await testDeps({ searchMaxResults: "100000", maxPageSize: "20" });
  const now = () => new Date(deps.clock.now()).toISOString();
  const records = Array.from({ length: PERSONS }, (_, i) => ({
    line: i + 1,
    raw: {
      id: `P${i}`,
      name: { given_name: i % 2 ? "Ana" : "Bea", surname: "Person" },
      sex: i % 4 ? "female" : "male",
      birth_date: `1990-0${1 + (i % 9)}-15`,
    },
  }));
  const report = await deps.storage.registryLoad.writeAll(records, { now });
  assert.equal(report.rejectedCount, 0);
  return deps;
}

const cmp = (attribute_name: string, operator: string, attribute_value: string) => ({
  expression1: { attribute_name, operator, attribute_value },
});
const BORN_1990 = {
  expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "1990-01-01" },
  condition: "and",
  expression2: { attribute_name: "birth_date", operator: "lt", attribute_value: "1991-01-01" },
};

function item(query: unknown[]) {
  return {
    reference_id: "r1",
    timestamp: "2026-01-01T00:00:00Z",
    search_criteria: {
      reg_record_type: "Individual",
      query_type: "predicate",
      query,
      pagination: { page_size: 20 },
    },
  };
}

/**
 * Whether the count of `query`, as the search compiles it, goes without the budget checks for `limit` rows under
 * a budget of `budgetMs` (and the household join when it reads one).
 */
function unchecked(deps: TestDeps, query: unknown[], limit = 100_001, budgetMs = 100): boolean {
  const ctx = { db: deps.db, maxPageSize: 20, maxResults: 100_000, now: deps.clock.now() };
  const p = prepareItem(ctx, item(query));
  const where = toSql(p.cond, { ...p.sql, estimate: valueEstimator(deps.db) });
  const from = uncheckedCountFrom(
    deps.db,
    where,
    p.recordType.storage,
    limit,
    statementBudget(budgetMs, Date.now),
  );
  if (from !== undefined) assert.doesNotMatch(from, /dci_budget|JOIN/);
  return from !== undefined;
}

Deno.test({
  name: "search count: unchecked only for one index range within the budget's rows",
  ignore: SQLITE_ONLY,
}, async () => {
  const deps = await registry();
  try {
    // Birth year and sex: one range of reg_p_sex_birth, every row read a match; sex alone, the same index.
    assert.equal(unchecked(deps, [BORN_1990, cmp("sex", "eq", "female")]), true);
    assert.equal(unchecked(deps, [cmp("sex", "eq", "female")]), true);
    // A LIMIT past what the budget would let the statement read keeps the checks.
    assert.equal(unchecked(deps, [BORN_1990, cmp("sex", "eq", "female")], 100 * ROWS_PER_MS + 1), false);
    assert.equal(unchecked(deps, [BORN_1990, cmp("sex", "eq", "female")], 100 * ROWS_PER_MS), true);
    // A comparison the range does not answer (read row by row), an OR, a "not equal", a household's attribute:
    // each could read rows it does not count.
    assert.equal(unchecked(deps, [BORN_1990, cmp("given_name", "eq", "Ana")]), false);
    assert.equal(unchecked(deps, [BORN_1990, cmp("region", "eq", "central_region")]), false);
    assert.equal(
      unchecked(deps, [{
        ...cmp("sex", "eq", "female"),
        condition: "or",
        expression2: cmp("sex", "eq", "male").expression1,
      }]),
      false,
    );
    assert.equal(unchecked(deps, [cmp("sex", "ne", "male")]), false);
    assert.equal(unchecked(deps, [cmp("poverty_score", "ge", "3")]), false);
  } finally {
    deps.close();
  }
});

Deno.test({
  name:
    "search count: an unchecked count answers where the checked one was stopped; others are still stopped",
  ignore: SQLITE_ONLY,
}, async () => {
  const deps = await registry();
  try {
    // A clock that jumps a second per reading: every budget check past MIN_CHECKS finds the budget used up.
    let t = 0;
    const search = (query: unknown[]) =>
      searchItem({
        db: deps.db,
        maxPageSize: 20,
        maxResults: 100_000,
        now: deps.clock.now(),
        budget: statementBudget(100, () => (t += 1000)),
      }, item(query));
    // 6,000 women born in 1990: counted without a check, then a page of 20 read in row id order.
    const women = search([BORN_1990, cmp("sex", "eq", "female")]);
    assert.equal(women.status, "succ", JSON.stringify(women));
    assert.equal(women.pagination?.total_count, PERSONS * 3 / 4);
    assert.equal(women.data?.reg_records.length, 20);
    // The same women with an OR of two given names: the count reads them row by row and the budget stops it.
    const either = search([
      BORN_1990,
      cmp("sex", "eq", "female"),
      {
        ...cmp("given_name", "eq", "Ana"),
        condition: "or",
        expression2: cmp("given_name", "eq", "Bea").expression1,
      },
    ]);
    assert.equal(either.status, "rjct", JSON.stringify(either));
    assert.match(either.status_reason_message ?? "", /time budget/);
  } finally {
    deps.close();
  }
});
