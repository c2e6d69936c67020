import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { DENSE_MIN_TOTAL, denseRange } from "../../src/registry/search_dense.ts";
import { ids, searchOne } from "./fixture.ts";

/** `count` loose persons; `female(i)` chooses each one's sex (the others are male). */
async function registry(count: number, female: (i: number) => boolean): Promise<TestDeps> {
  const deps = await testDeps({ searchMaxResults: "100000", maxPageSize: "20" });
  const now = () => new Date(deps.clock.now()).toISOString();
  const records = Array.from({ length: count }, (_, i) => ({
    line: i + 1,
    raw: {
      id: `P${String(i).padStart(5, "0")}`,
      name: { given_name: "Test", surname: "Person" },
      sex: female(i) ? "female" : "male",
      birth_date: "1990-01-01",
    },
  }));
  const report = await deps.storage.registryLoad.writeAll(records, { now });
  assert.equal(report.rejectedCount, 0);
  return deps;
}

/** The @ids of the women, in row id order (the default order of a search). */
async function women(deps: TestDeps): Promise<string[]> {
  return (await deps.sql(
    "SELECT external_id FROM registrants WHERE sex = 'female' AND deleted_at IS NULL ORDER BY id",
  )).map((r) => String(r.external_id));
}

const FEMALE = {
  query_type: "predicate",
  query: [{ expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" } }],
};

/** denseRange() is the SQLite search's row id way (src/registry/search.ts); PostgreSQL's search plans its own. */
const SQLITE_SEARCH_ONLY = TEST_BACKEND === "postgres";

Deno.test({
  name: "denseRange: a row id range for many evenly spread matches, none for a sort, few or sparse matches",
  ignore: SQLITE_SEARCH_ONLY,
}, async () => {
  const deps = await registry(10, () => true);
  try {
    const maxId = Number((deps.db.prepare("SELECT MAX(id) AS m FROM registrants").get() as { m: number }).m);
    const dense = { total: DENSE_MIN_TOTAL, offset: 0, pageSize: 20, sort: [] };
    // maxId = 10, so a total of 2,000 is impossibly dense: the span is the page itself (21 ids, times 4).
    assert.deepEqual(denseRange(deps.db, dense), {
      low: 0,
      high: Math.ceil(21 * maxId / DENSE_MIN_TOTAL) * 4,
    });
    assert.deepEqual(denseRange(deps.db, { ...dense, after: { values: [], id: 7 } }), {
      low: 7,
      high: 7 + Math.ceil(21 * maxId / DENSE_MIN_TOTAL) * 4,
    });
    assert.equal(
      denseRange(deps.db, { ...dense, sort: [{ column: "surname", sql: "r.surname", desc: false }] }),
      undefined,
    );
    assert.equal(denseRange(deps.db, { ...dense, total: DENSE_MIN_TOTAL - 1 }), undefined);
    // A deep page: its span (offset + page + 1 matches at this density, times 4) is more than the count.
    assert.equal(denseRange(deps.db, { ...dense, offset: 100_000 }), undefined);
  } finally {
    deps.close();
  }
});

Deno.test("search: many evenly spread matches page by row id, by page number and by cursor, as the index way does", async () => {
  const deps = await registry(6000, (i) => i % 2 === 0);
  try {
    const all = await women(deps);
    assert.equal(all.length, 3000);
    const first = await searchOne(deps, { ...FEMALE, pagination: { page_size: 20, page_number: 1 } });
    assert.equal(first.pagination?.total_count, 3000);
    assert.deepEqual(ids(first), all.slice(0, 20));
    const third = await searchOne(deps, { ...FEMALE, pagination: { page_size: 20, page_number: 3 } });
    assert.deepEqual(ids(third), all.slice(40, 60));
    const next = await searchOne(deps, {
      ...FEMALE,
      pagination: { page_size: 20, cursor: first.pagination?.next_cursor },
    });
    assert.deepEqual(ids(next), all.slice(20, 40));
    // The last page: fewer than a full page within the row id range, answered the index way.
    const last = await searchOne(deps, { ...FEMALE, pagination: { page_size: 20, page_number: 150 } });
    assert.deepEqual(ids(last), all.slice(2980));
    assert.equal(last.pagination?.next_cursor, undefined);
  } finally {
    deps.close();
  }
});

Deno.test("search: many matches gathered at the end of the row ids still give the right page (the index way answers)", async () => {
  const deps = await registry(6000, (i) => i >= 3500);
  try {
    const all = await women(deps);
    assert.equal(all.length, 2500);
    const first = await searchOne(deps, { ...FEMALE, pagination: { page_size: 20, page_number: 1 } });
    assert.equal(first.pagination?.total_count, 2500);
    assert.deepEqual(ids(first), all.slice(0, 20));
    const next = await searchOne(deps, {
      ...FEMALE,
      pagination: { page_size: 20, cursor: first.pagination?.next_cursor },
    });
    assert.deepEqual(ids(next), all.slice(20, 40));
  } finally {
    deps.close();
  }
});

Deno.test({
  name:
    "denseRange: the row id way is chosen for evenly spread matches; its range misses matches gathered at the end",
  ignore: SQLITE_SEARCH_ONLY,
}, async () => {
  const even = await registry(6000, (i) => i % 2 === 0);
  try {
    assert.ok(
      denseRange(even.db, { total: 3000, offset: 0, pageSize: 20, sort: [] }),
      "the row id way is chosen",
    );
  } finally {
    even.close();
  }
  const gathered = await registry(6000, (i) => i >= 3500);
  try {
    const range = denseRange(gathered.db, { total: 2500, offset: 0, pageSize: 20, sort: [] });
    assert.ok(range && range.high < 3500, "the even-spread range holds none of them");
  } finally {
    gathered.close();
  }
});
