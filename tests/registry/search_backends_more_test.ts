/**
 * Search on both backends, continued (search_backends_test.ts has the social table): the registry attributes of
 * other registries (fr, crvs: `registrant_values`, one key per attribute and value, several ANDed driven by the
 * fewest rows) answer exactly as the SQLite engine answers them on the same rows; bulk identifier lookups; and a
 * tiny time budget stops a scan of a large registry on both, while identifier lookups still answer.
 */
import assert from "node:assert/strict";
import { backendTest, type RawSql } from "../helpers/storage.ts";
import { copyRegistry, sourceRegistry } from "../helpers/registry_seed.ts";
import { FIXTURE, FIXTURE_NOW, item, pred } from "./fixture.ts";
import { idsOf, searchOn } from "./search_backends.ts";
import { testConfig } from "../../src/config.ts";
import { fakeClock, systemClock } from "../../src/clock.ts";
import type { Db } from "../../src/db/sqlite.ts";
import type { Storage } from "../../src/db/storage.ts";
import { searchMessage } from "../../src/registry/search_message.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { demoSource } from "../../src/registry/startup.ts";
import type { Registry } from "../../src/dci/registry_router.ts";
import { MIN_TIMEOUT_MS } from "../../src/db/pg/budget.ts";

const NOW = new Date(FIXTURE_NOW).toISOString();

const sources = new Map<string, Promise<Db>>();

/** The source database `name`, written once for the file. */
function source(name: string, make: () => Promise<Db>): Promise<Db> {
  let db = sources.get(name);
  if (!db) sources.set(name, db = make());
  return db;
}

const fr = () =>
  source("fr", () =>
    sourceRegistry([...frProfile.demo(200, 5)].map((raw, i) => ({ line: i + 1, raw })), {
      now: NOW,
      profile: frProfile,
    }));
const crvs = () =>
  source("crvs", () => sourceRegistry(demoSource(crvsProfile, 150, 1), { now: NOW, profile: crvsProfile }));
const social = () =>
  source(
    "social",
    () => sourceRegistry(FIXTURE.map((raw, i) => ({ line: i + 1, raw })), { now: NOW, deleted: ["P7"] }),
  );

/** The answer of the SQLite engine (search.ts, unchanged by the port) on the source database itself. */
function sqliteAnswer(db: Db, registry: Registry, criteria: Record<string, unknown>) {
  return searchMessage({ db, config: testConfig({ maxPageSize: "1000" }), clock: fakeClock(FIXTURE_NOW) }, {
    registry,
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: { transaction_id: "t", search_request: [item(criteria)] },
  }).message.search_response[0];
}

/** Checks that every case answers on `storage` exactly as the SQLite engine on the source, and finds something. */
async function sameAnswers(
  storage: Storage,
  sql: RawSql,
  db: Db,
  registry: Registry,
  cases: Array<Record<string, unknown>>,
) {
  await copyRegistry(db, storage.kind, sql);
  for (const criteria of cases) {
    const want = sqliteAnswer(db, registry, criteria);
    assert.equal(want.status, "succ", JSON.stringify([criteria, want]));
    assert.ok(want.pagination!.total_count > 0, `${JSON.stringify(criteria)} finds records`);
    const got = await searchOn(storage, criteria, { registry, config: { maxPageSize: "1000" } });
    assert.deepEqual(got, want, JSON.stringify(criteria));
  }
}

const and = (...terms: Array<ReturnType<typeof pred>>) => ({
  query_type: "predicate",
  query: terms.map((t, i) => ({
    seq_num: i + 1,
    expression1: t.query[0].expression1,
    ...(i < terms.length - 1 ? { condition: "and" } : {}),
  })),
});

backendTest(
  "search: fr registry attributes (text codes, numbers, LIKE, ANDs) answer as on SQLite",
  async (storage, sql) => {
    await sameAnswers(storage, sql, await fr(), "fr", [
      pred("crop_type", "eq", "1"),
      pred("crop_type", "ne", "1"),
      pred("crop_type", "in", ["1", "2", "7"]),
      pred("land_size", "gt", 2.5),
      pred("land_size", "le", 10),
      pred("livestock_count", "ge", 1),
      pred("farm_region", "like", "%"),
      pred("farm_locality", "contains", "A"),
      and(pred("crop_type", "eq", "1"), pred("livestock_type", "in", ["1", "2", "6"])),
      and(pred("land_size", "ge", 1), pred("crop_type", "eq", "1"), pred("machinery_type", "ne", "32")),
      { ...pred("crop_type", "eq", "1"), sort: [{ attribute_name: "birth_date", sort_order: "desc" }] },
      { ...pred("land_size", "gt", 0), pagination: { page_size: 7, page_number: 3 } },
    ]);
  },
);

backendTest(
  "search: crvs attributes (dates, a union of two attributes, several ANDed) answer as on SQLite",
  async (storage, sql) => {
    await sameAnswers(storage, sql, await crvs(), "crvs", [
      pred("vital_event_type", "eq", "birth"),
      pred("vital_event_date", "ge", "2000-01-01"),
      pred("marital_status", "in", ["M", "S"]),
      and(pred("vital_event_type", "eq", "birth"), pred("marital_status", "in", ["S", "M"])),
      { ...pred("vital_event_type", "eq", "birth"), pagination: { page_size: 5 } },
    ]);
  },
);

backendTest("search: bulk identifier lookups answer the same on both backends", async (storage, sql) => {
  await copyRegistry(await social(), storage.kind, sql);
  const answers = await storage.search.lookupIdentifiers(
    { maxPageSize: 100, maxResults: 1000, now: FIXTURE_NOW },
    "social",
    [
      { ref: "a", type: "UIN", value: "U-1" },
      { ref: "b", type: "UIN", value: "U-7" },
      { ref: "c", type: "BRN", value: " B-3 " },
      { ref: "d", type: "??", value: "U-2" },
      { ref: "e", type: "urn:dci:id:UIN", value: "U-8" },
      { ref: "f", type: "UIN", value: "nobody" },
      { ref: "g", type: "UIN", value: "U-\u00001" },
    ],
  );
  assert.deepEqual(
    answers.map((a) => [a.reference_id, a.status, a.pagination?.total_count ?? null, idsOf(a)]),
    [
      ["a", "succ", 1, ["P1"]],
      ["b", "succ", 0, []],
      ["c", "succ", 1, ["P3"]],
      ["d", "rjct", null, []],
      ["e", "succ", 1, ["P8"]],
      ["f", "succ", 0, []],
      ["g", "succ", 0, []],
    ],
  );
});

/**
 * `n` more live persons (registrants rows only, ids from 1001: no data, identifier or value; no query of the test
 * matches them), inserted by the database itself.
 */
async function fillerPersons(kind: Storage["kind"], sql: RawSql, n: number): Promise<void> {
  const columns = "id, record_type, external_id, given_name, surname, locality, region, registration_date, " +
    "last_updated, registry";
  const values = "1000 + s.n, 'person', 'F' || s.n, 'Given' || s.n, 'Surname' || s.n, 'Town', 'region', " +
    `'${NOW}', '${NOW}', 'social'`;
  if (kind === "postgres") {
    await sql(`INSERT INTO registrants (${columns}) SELECT ${values} FROM generate_series(1, ?) AS s(n)`, [
      n,
    ]);
    await sql("ANALYZE registrants");
  } else {
    await sql(
      `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) ` +
        `INSERT INTO registrants (${columns}) SELECT ${values} FROM s`,
      [n],
    );
  }
}

backendTest(
  "search: a tiny time budget stops a scan of a large registry; identifier lookups still answer",
  async (storage, sql) => {
    await copyRegistry(await social(), storage.kind, sql);
    await fillerPersons(storage.kind, sql, 300_000);
    // Every person's name parts, locality and region, none matching: a scan of the whole registry.
    const scan = item({
      query_type: "predicate",
      query: [
        ["name", "contains", "zzz"],
        ["locality", "contains", "zzz"],
        ["region", "like", "%zzz"],
      ].map(([attribute_name, operator, attribute_value], i) => ({
        seq_num: i + 1,
        expression1: { attribute_name, operator, attribute_value },
        ...(i < 2 ? { condition: "or" } : {}),
      })),
    }, "scan");
    const lookup = item(
      { query_type: "idtype-value", query: { type: "UIN", value: "U-1" } },
      "lookup",
    );
    const run = (budgetMs: number, items: unknown[]) =>
      storage.search.message(
        {
          config: testConfig({ searchBudgetMs: String(budgetMs), searchMaxResults: "1000000" }),
          clock: systemClock,
        },
        {
          registry: "social",
          header: { version: "1.0.0", action: "search", total_count: items.length },
          message: { transaction_id: "t", search_request: items },
        },
      );
    // The scan's cost, unbounded: well past what the tiny budget allows (PostgreSQL: its shortest timeout).
    const start = performance.now();
    const free = (await run(60_000, [scan])).message.search_response[0];
    const took = performance.now() - start;
    assert.equal(free.status, "succ");
    assert.ok(took > 3 * MIN_TIMEOUT_MS, `the scan took ${took.toFixed(1)} ms`);
    const [stopped] = (await run(1, [scan])).message.search_response;
    assert.equal(stopped.status_reason_code, "rjct.search.too_many_records_found", JSON.stringify(stopped));
    assert.match(stopped.status_reason_message ?? "", /1 ms time budget/);
    const [found, refused] = (await run(1, [lookup, scan])).message.search_response;
    assert.equal(found.status, "succ");
    assert.equal(found.pagination?.total_count, 1);
    assert.equal(refused.status_reason_code, "rjct.search.too_many_records_found");
    // An identifier lookup after the item that used the budget up still answers, on both backends alike.
    const [spent, after] = (await run(1, [scan, lookup])).message.search_response;
    assert.equal(spent.status_reason_code, "rjct.search.too_many_records_found");
    assert.equal(after.status, "succ", JSON.stringify(after));
    assert.equal(after.pagination?.total_count, 1);
  },
);
