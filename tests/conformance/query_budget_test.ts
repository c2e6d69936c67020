/**
 * The new query forms stay inside issue 11's bounds: CEL predicates, `contains` / `like`, `name`, `phone`,
 * `email` and OpenG2P's `search_text` are answered by the search pool (a worker with its own SQLite
 * connection) like any query that may scan, and every statement they compile to checks the request's time
 * budget on the rows it visits (a clock that advances 1 ms per reading; outcomes asserted, never times). The
 * budget refuses only after real work (~2,000 rows examined), so the registry has 10,000 persons.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { closeDeps, openSqliteDeps } from "../../src/deps.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";
import { createSearchPool } from "../../src/registry/search_pool.ts";
import { type SearchInput, searchMessage } from "../../src/registry/search_message.ts";
import { runSearch } from "../../src/registry/search_run.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function input(criteria: Record<string, unknown>): SearchInput {
  return {
    registry: "social",
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: {
      transaction_id: "t",
      search_request: [{ reference_id: "r", timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria }],
    },
  };
}

const cel = (text: string) => ({ query_type: "predicate", query: { expression: text } });
const pred = (attribute_name: string, operator: string, attribute_value: unknown) => ({
  query_type: "predicate",
  query: [{ expression1: { attribute_name, operator, attribute_value } }],
});

Deno.test("query budget: scans of the new forms (CEL contains, name, phone, like) stop at the search time budget", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-query-budget-" });
  const deps = await openSqliteDeps(testConfig({ dataDir, searchBudgetMs: "20" }), { log: silentLogger });
  try {
    await writeAll(deps.db, demoRecords(10_000, 1), { now: () => new Date(NOW).toISOString() });
    const ticking = (criteria: Record<string, unknown>) => {
      let t = NOW;
      return searchMessage({ db: deps.db, config: deps.config, clock: { now: () => t++ } }, input(criteria))
        .message.search_response[0];
    };
    const scans: Array<[string, Record<string, unknown>]> = [
      ["cel contains", cel(`r.name.contains("zzz") || r.surname.endsWith("qqq")`)],
      ["name contains", pred("name", "contains", "zzz")],
      ["phone contains", pred("phone", "contains", "000000000")],
      ["locality like", pred("locality", "like", "%zzz%")],
    ];
    for (const [name, criteria] of scans) {
      const item = ticking(criteria);
      assert.equal(
        item.status_reason_code,
        "rjct.search.too_many_records_found",
        `${name}: ${JSON.stringify(item)}`,
      );
      assert.match(item.status_reason_message ?? "", /20 ms time budget/, name);
    }
    // Index lookups of the same forms answer under the same budget and clock.
    const uin = deps.db.prepare("SELECT id_value FROM identifiers WHERE id_type = 'UIN' LIMIT 1").get() as {
      id_value: string;
    };
    const lookups: Array<[string, Record<string, unknown>]> = [
      ["search_text", {
        query_type: "expression",
        query: { value: { expression: { query: { search_text: { $eq: uin.id_value } } } } },
      }],
      ["phone prefix", { ...pred("phone", "like", "+99 7000000%"), pagination: { page_size: 5 } }],
      ["cel identifier", cel(`r.identifier.UIN == "${uin.id_value}"`)],
    ];
    for (const [name, criteria] of lookups) {
      const item = ticking(criteria);
      assert.equal(item.status, "succ", `${name}: ${JSON.stringify(item)}`);
    }
  } finally {
    closeDeps(deps);
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("query budget: CEL, search_text and cursor searches are answered in the search pool as in process", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-query-pool-" });
  const config = testConfig({ dataDir });
  const deps = await openSqliteDeps(config, { log: silentLogger, ensureKey: false });
  const pool = createSearchPool({ size: 1, dbPath: `${dataDir}/dci.sqlite`, config, log: silentLogger });
  try {
    await writeAll(deps.db, demoRecords(500, 1), { now: () => new Date(NOW).toISOString() });
    const pooled = { ...deps, searchPool: pool };
    const page = { pagination: { page_size: 5 }, sort: [{ attribute_name: "surname" }] };
    const first = await runSearch(
      pooled,
      "s",
      input({ ...cel(`age_years(r.birthdate) >= 18 && r.sex == "female"`), ...page }),
    );
    const local = searchMessage(
      deps,
      input({ ...cel(`age_years(r.birthdate) >= 18 && r.sex == "female"`), ...page }),
    );
    const records = (o: typeof local) => o.message.search_response[0].data?.reg_records.map((r) => r["@id"]);
    assert.equal(first.message.search_response[0].status, "succ");
    assert.deepEqual(records(first), records(local));
    const cursor = first.message.search_response[0].pagination?.next_cursor;
    assert.ok(cursor);
    const next = await runSearch(
      pooled,
      "s",
      input({
        ...cel(`age_years(r.birthdate) >= 18 && r.sex == "female"`),
        ...page,
        pagination: { page_size: 5, cursor },
      }),
    );
    assert.equal(next.message.search_response[0].status, "succ");
    assert.notDeepEqual(records(next), records(first));
  } finally {
    pool.close();
    closeDeps(deps);
    await Deno.remove(dataDir, { recursive: true });
  }
});
