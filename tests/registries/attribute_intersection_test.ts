/**
 * Several registry attributes in one AND (src/registry/query_intersect.ts): driven by the comparison with the
 * fewest rows whatever the client's order, the others probed by the full key of `registrant_values`, and the
 * answers exactly those of each condition's rows intersected (checked on the crvs demo, in both orders).
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { parseQuery } from "../../src/registry/query_parse.ts";
import { type SqlContext, toSql } from "../../src/registry/query_sql.ts";
import { valueEstimator } from "../../src/registry/query_intersect.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NOW = Date.parse("2026-03-01T10:00:00Z");

async function crvsDemo(n: number): Promise<TestDeps> {
  const deps = await testDeps({ maxPageSize: "1000" }, { now: NOW });
  const report = await deps.storage.registryLoad.writeAll(demoSource(crvsProfile, n, 1), {
    now: () => new Date(NOW).toISOString(),
    profile: crvsProfile,
  });
  assert.equal(report.rejectedCount, 0);
  return deps;
}

function predicate(terms: Array<[string, string, unknown]>): Json {
  return terms.map(([attribute_name, operator, attribute_value], i) => ({
    seq_num: i + 1,
    expression1: { attribute_name, operator, attribute_value },
    ...(i < terms.length - 1 ? { condition: "and" } : {}),
  }));
}

function context(deps: TestDeps, estimate = true): SqlContext {
  return {
    recordType: "person",
    storage: "crvs_person",
    groupStorage: "crvs_group",
    attributes: crvsProfile.attributes,
    idTypes: crvsProfile.idTypes,
    today: "2026-03-01",
    mode: "search",
    ...(estimate ? { estimate: valueEstimator(deps.db) } : {}),
  };
}

/** The external ids of every crvs person the search matches (one page of up to 1000). */
async function search(deps: TestDeps, terms: Array<[string, string, unknown]>): Promise<string[]> {
  const out = await deps.storage.search.message(deps, {
    registry: "crvs",
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: {
      transaction_id: "t",
      search_request: [{
        reference_id: "r",
        timestamp: "2026-03-01T10:00:00Z",
        search_criteria: {
          reg_record_type: "CRVS_Person",
          query_type: "predicate",
          query: predicate(terms),
          pagination: { page_size: 1000, page_number: 1 },
        },
      }],
    },
  });
  const item = out.message.search_response[0] as Json;
  assert.equal(item.status, "succ", JSON.stringify(item));
  assert.equal(item.pagination.total_count, item.data.reg_records.length);
  return item.data.reg_records.map((r: Json) => String(r["@id"] ?? r.id)).sort();
}

/** The live crvs persons having every (attr, value) pair, straight from registrant_values. */
async function expected(deps: TestDeps, pairs: Array<[string, string]>): Promise<number> {
  // PostgreSQL keeps values as jsonb (their type kept), SQLite as they came.
  const value = deps.backend === "postgres" ? "to_jsonb(?::text)" : "?";
  const sql = pairs.map(() =>
    `SELECT registrant_id FROM registrant_values WHERE attr = ? AND value = ${value}`
  )
    .join(" INTERSECT ");
  const [row] = await deps.sql(
    `SELECT COUNT(*) AS n FROM registrants WHERE record_type = 'crvs_person' AND deleted_at IS NULL AND id IN (${sql})`,
    pairs.flat(),
  );
  return Number(row.n);
}

Deno.test({
  name:
    "registry attribute intersection: an AND of two attributes answers the records having both, in either order",
}, async () => {
  const deps = await crvsDemo(1500);
  try {
    const a: [string, string, unknown] = ["vital_event_type", "eq", "marriage"];
    const b: [string, string, unknown] = ["marital_status", "eq", "D"];
    const ab = await search(deps, [a, b]);
    const ba = await search(deps, [b, a]);
    assert.deepEqual(ab, ba);
    const n = await expected(deps, [["vital_event_type", "marriage"], ["marital_status", "D"]]);
    assert.ok(n > 0, "the demo has divorced persons with a marriage");
    assert.equal(ab.length, n);
    // A third condition that is a range (never a probe) and one that is not a registry attribute keep applying.
    const withRange = await search(deps, [a, b, ["vital_event_date", "ge", "2000-01-01"]]);
    assert.ok(withRange.every((id) => ab.includes(id)));
    const withSex = await search(deps, [a, b, ["sex", "eq", "female"]]);
    assert.ok(withSex.length > 0 && withSex.length < ab.length);
    assert.ok(withSex.every((id) => ab.includes(id)));
  } finally {
    deps.close();
  }
});

// The SQLite query compiler's plan (its value estimator over deps.db, EXPLAIN QUERY PLAN): SQLite's own.
Deno.test({
  name:
    "registry attribute intersection: the comparison with the fewest rows drives, the other is a full-key probe",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await crvsDemo(1500);
  try {
    const broad: [string, string, unknown] = ["vital_event_type", "eq", "live_birth"];
    const narrow: [string, string, unknown] = ["marital_status", "eq", "W"];
    for (const terms of [[broad, narrow], [narrow, broad]]) {
      const where = toSql(parseQuery("predicate", predicate(terms)).cond, context(deps));
      // The driver's attribute is bound first, whatever the client's order.
      assert.deepEqual(where.params.slice(0, 2), ["marital_status", "W"]);
      assert.match(where.sql, /EXISTS \(SELECT 1 FROM registrant_values p0 WHERE p0\.attr = \?/);
      const plan = deps.db.prepare(
        `EXPLAIN QUERY PLAN SELECT r.id FROM registrants r WHERE r.record_type = 'crvs_person' AND (${
          where.sql.replaceAll(/\(random\(\) & 31 OR abs\(dci_budget\([a-z.0-9_]+\)\)\) AND /g, "")
        })`,
      ).all(...where.params).map((r) => String(r.detail)).join("; ");
      assert.match(plan, /SEARCH v USING PRIMARY KEY \(attr=\? AND value=\?\)/);
      assert.match(plan, /SEARCH p0 EXISTS USING PRIMARY KEY \(attr=\? AND value=\? AND registrant_id=\?\)/);
    }
    // Without an estimate (match mode, subscriptions) each comparison stays its own subquery.
    const plain = toSql(parseQuery("predicate", predicate([broad, narrow])).cond, context(deps, false));
    assert.equal(plain.sql.match(/r\.id IN/g)?.length, 2);
    assert.doesNotMatch(plain.sql, /EXISTS/);
  } finally {
    deps.close();
  }
});

// The SQLite query compiler's plan (its value estimator over deps.db, EXPLAIN QUERY PLAN): SQLite's own.
Deno.test({
  name: "registry attribute intersection: a range is never a probe; it may drive when it has the fewest rows",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await crvsDemo(600);
  try {
    const range: [string, string, unknown] = ["vital_event_date", "ge", "2099-01-01"];
    const eq: [string, string, unknown] = ["vital_event_type", "eq", "live_birth"];
    const where = toSql(parseQuery("predicate", predicate([eq, range])).cond, context(deps));
    assert.deepEqual(where.params.slice(0, 2), ["vital_event_date", "2099-01-01"], "the empty range drives");
    assert.match(where.sql, /p0\.attr = \? AND p0\.value = \?/);
    const two = toSql(
      parseQuery("predicate", predicate([range, ["vital_event_date", "le", "2100-01-01"]])).cond,
      context(deps),
    );
    assert.doesNotMatch(two.sql, /EXISTS/, "two ranges: nothing to probe, both stay subqueries");
    assert.deepEqual(await search(deps, [eq, range]), []);
  } finally {
    deps.close();
  }
});

// The SQLite query compiler's plan (its value estimator over deps.db, EXPLAIN QUERY PLAN): SQLite's own.
Deno.test({
  name:
    "valueEstimator() counts up to its cap and extrapolates one key's rows from the id the cap was reached at",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await crvsDemo(600);
  try {
    const count = (value: string) =>
      Number(
        (deps.db.prepare(
          "SELECT COUNT(*) AS n FROM registrant_values WHERE attr = 'vital_event_type' AND value = ?",
        )
          .get(value) as { n: number }).n,
      );
    const births = count("live_birth");
    const small = valueEstimator(deps.db, 10);
    const exact = valueEstimator(deps.db, 100_000);
    const where = "v.attr = ? AND v.value = ?";
    assert.equal(exact(where, ["vital_event_type", "live_birth"], true), births);
    const guess = small(where, ["vital_event_type", "live_birth"], true);
    assert.ok(guess > 10 && guess < births * 4, `extrapolated ${guess} for ${births}`);
    assert.equal(small(where, ["vital_event_type", "live_birth"], false), Number.MAX_SAFE_INTEGER);
    assert.equal(small(where, ["vital_event_type", "no_such_event"], true), 0);
  } finally {
    deps.close();
  }
});
