/**
 * Item 1 (issue 11): searches that may examine many records run in the search pool, one at a time per sender,
 * so one sender's costly searches neither hold the isolate that serves HTTP nor queue another sender's search.
 * Ordering and outcomes are asserted, never times.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { closeDeps, openSqliteDeps } from "../../src/deps.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";
import { createSearchPool } from "../../src/registry/search_pool.ts";
import type { SearchInput } from "../../src/registry/search_message.ts";
import { DciRejection } from "../../src/dci/errors.ts";
import { runSearch } from "../../src/registry/search_run.ts";
import { expression, PERSON_QUERY } from "./pathological_queries.ts";
import { registerProfile } from "../../src/registries/index.ts";
import { testProfile } from "../registries/test_profile.ts";

function input(criteria: Record<string, unknown>, totalCount = 1): SearchInput {
  return {
    registry: "social",
    header: { version: "1.0.0", action: "search", total_count: totalCount },
    message: {
      transaction_id: "t",
      search_request: [{ reference_id: "r", timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria }],
    },
  };
}

const CHEAP = expression({ birth_date: "1990-01-01", sex: "female" });

/** A data dir with a seeded registry (the workers open the file). */
async function seeded(persons: number): Promise<string> {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-search-pool-" });
  const deps = await openSqliteDeps(testConfig({ dataDir }), { log: silentLogger, ensureKey: false });
  try {
    await writeAll(deps.db, demoRecords(persons, 1), { now: () => "2026-01-01T00:00:00Z" });
  } finally {
    closeDeps(deps);
  }
  return dataDir;
}

Deno.test("search pool: a sender's searches run one at a time; another sender's search does not wait behind them", async () => {
  const dataDir = await seeded(20_000);
  const config = testConfig({ dataDir, searchBudgetMs: "100" });
  const pool = createSearchPool({ size: 2, dbPath: `${dataDir}/dci.sqlite`, config, log: silentLogger });
  try {
    // Both workers started and ready (a worker's start-up is not what is measured here).
    await Promise.all([pool.run("a", input(CHEAP)), pool.run("b", input(CHEAP))]);
    const order: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
    const heavy = [1, 2, 3].map((i) => track(`a${i}`, pool.run("a", input(expression(PERSON_QUERY)))));
    const light = track("b1", pool.run("b", input(CHEAP)));
    await Promise.all([...heavy, light]);
    // a2 starts only when a1 is answered (one search per sender), b1 on the second worker at once.
    assert.ok(order.indexOf("b1") < order.indexOf("a2"), order.join(" "));
    assert.deepEqual(order.filter((n) => n.startsWith("a")), ["a1", "a2", "a3"]);
    const outcome = await pool.run("b", input(CHEAP));
    assert.equal(outcome.message.search_response[0].status, "succ");
    // Header-level rejections come back as DciRejection, as searchMessage throws them.
    await assert.rejects(
      pool.run("b", input(CHEAP, 3)),
      (e) => e instanceof DciRejection && e.code === "rjct.total_count.invalid",
    );
  } finally {
    pool.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("runSearch() sends scanning searches and lookups of groups to the pool and answers person lookups in place", async () => {
  const dataDir = await seeded(200);
  const deps = await openSqliteDeps(testConfig({ dataDir, searchWorkers: "1" }), {
    log: silentLogger,
    ensureKey: false,
  });
  try {
    assert.ok(deps.searchPool, "a file-backed registry has a search pool");
    const used: string[] = [];
    const pool = deps.searchPool;
    const spy = {
      ...deps,
      searchPool: { ...pool, run: (s: string, i: SearchInput) => (used.push(s), pool.run(s, i)) },
    };
    const lookup = { query_type: "idtype-value", query: { type: "UIN", value: "TEST-001" } };
    const found = await runSearch(spy, "s1", input(lookup));
    assert.equal(found.message.search_response[0].pagination?.total_count, 1);
    assert.deepEqual(used, []);
    const scanned = await runSearch(spy, "s2", input(expression({ sex: "female" })));
    assert.equal(scanned.message.search_response[0].status, "succ");
    assert.deepEqual(used, ["s2"]);
    // A group's answer lists its members, counted when there are more than it lists: it may read many records.
    const household = { type: "HOUSEHOLD_ID", value: "HH1-0000001" };
    const group = await runSearch(
      spy,
      "s3",
      input({ query_type: "idtype-value", reg_record_type: "Group", query: household }),
    );
    assert.equal(group.message.search_response[0].pagination?.total_count, 1);
    assert.deepEqual(used, ["s2", "s3"]);
  } finally {
    closeDeps(deps);
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("runSearch() answers a deployment's own registry in place: the search workers know the built-in ones only", async () => {
  const unregister = registerProfile(testProfile);
  const dataDir = await seeded(10);
  const deps = await openSqliteDeps(testConfig({ dataDir, searchWorkers: "1" }), {
    log: silentLogger,
    ensureKey: false,
  });
  try {
    assert.ok(deps.searchPool);
    const found = await runSearch(deps, "s1", {
      ...input(expression({ skill: "welding" })),
      registry: "tst" as SearchInput["registry"],
    });
    assert.equal(found.status, "succ", JSON.stringify(found));
    assert.equal(found.message.search_response[0].status, "succ", JSON.stringify(found.message));
  } finally {
    closeDeps(deps);
    unregister();
    await Deno.remove(dataDir, { recursive: true });
  }
});
