/**
 * Issue 16 hardening: a search on 3.55M records (bench/registry.ts, machine load ~20) threw ERR_SQLITE_ERROR with
 * the bare message "Error" from the page's `iterate()`, its budget not exceeded; a route answered 500 for it.
 * The cause: an earlier search of the same shape was stopped by its budget while its page was being read, and in
 * Deno 2.9.6 an `iterate()` that a user function's exception stopped leaves the (cached) statement holding that
 * failure; its next run reports it, with an empty message (`String(err)` is then "Error"). The budget now stops a
 * statement with an SQLite error instead (src/db/budget.ts), and pages are read with `all()`. These tests stop a
 * page deterministically: the clock stands still through the count and jumps once the page is read.
 */
import assert from "node:assert/strict";
import { StatementSync } from "node:sqlite";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";
import { searchMessage } from "../../src/registry/search_message.ts";
import type { SearchResponseItem } from "../../src/registry/search.ts";
import { stmt } from "../../src/db/statements.ts";
import { budgetCheck, BudgetExceeded, statementBudget, withStatementBudget } from "../../src/db/budget.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");

/** Counts to `?`, every row checking the budget: a statement the budget can stop at any row. */
const COUNTING = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE ${budgetCheck("x")} ` +
  "AND x < ?) SELECT x FROM c";

/** Runs `fn` under a budget whose clock advances a millisecond per reading: it is stopped after ~100 checks. */
function ticking<T>(deps: TestDeps, fn: () => T): T {
  let t = 0;
  return withStatementBudget(deps.db, statementBudget(100, () => t++), fn);
}

/** Runs `fn` under a budget whose clock stands still: nothing stops it. */
function standing<T>(deps: TestDeps, fn: () => T): T {
  return withStatementBudget(deps.db, statementBudget(100, () => 0), fn);
}

Deno.test("the statement budget stops all() and get() with an SQLite error, and the cached statement runs again after", async () => {
  const deps = await testDeps();
  try {
    const s = stmt(deps.db, COUNTING);
    // A JS exception from the function made all() restart the statement forever; this one ends it at once.
    assert.throws(() => ticking(deps, () => s.all(1e9)), BudgetExceeded);
    assert.equal(standing(deps, () => stmt(deps.db, COUNTING).all(500)).length, 500);
    const count = stmt(deps.db, `SELECT COUNT(*) AS n FROM (${COUNTING})`);
    assert.throws(() => ticking(deps, () => count.get(1e9)), BudgetExceeded);
    assert.deepEqual({ ...standing(deps, () => count.get(300)) }, { n: 300 });
    // Outside a budget the check never stops a statement.
    assert.equal(s.all(2000).length, 2000);
  } finally {
    deps.close();
  }
});

Deno.test("node:sqlite in Deno 2.9.6: an iterate() stopped by a user function's exception fails its statement's next run with an empty ERR_SQLITE_ERROR (the bench's error)", async () => {
  const deps = await testDeps();
  try {
    let calls = 0;
    deps.db.function("throw_at_50", { deterministic: false, directOnly: true }, () => {
      if (++calls === 50) throw new Error("stopped");
      return 1;
    });
    const s = deps.db.prepare(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE throw_at_50() AND x < ?) SELECT x FROM c",
    );
    assert.throws(() => Array.from(s.iterate(1e9)), /stopped/);
    // If this fails, Deno resets such a statement itself: the reason to keep JS exceptions out of SQL is gone.
    assert.throws(
      () => Array.from(s.iterate(10)),
      (e) => (e as { code?: string }).code === "ERR_SQLITE_ERROR" && String(e) === "Error",
    );
    assert.equal(Array.from(s.iterate(10)).length, 10, "the report reset it");
  } finally {
    deps.close();
  }
});

Deno.test("node:sqlite in Deno 2.9.6: iterate() ends without an error when a step fails in SQLite (why src/ reads no rows with it)", async () => {
  const deps = await testDeps();
  try {
    const s = stmt(deps.db, COUNTING);
    // The budget's stop: all() and get() report it, iterate() answers the rows before it as if they were all.
    const rows = ticking(deps, () => Array.from(s.iterate(1e9)));
    assert.ok(rows.length > 0 && rows.length < 1e9, `${rows.length} rows`);
    deps.db.exec("CREATE TABLE j(v TEXT); INSERT INTO j VALUES ('[]'), ('not json'), ('{}')");
    const json = deps.db.prepare("SELECT json(v) AS v FROM j ORDER BY rowid");
    assert.deepEqual(Array.from(json.iterate(), (r) => r.v), ["[]"]);
    assert.throws(() => json.all(), /malformed JSON/);
  } finally {
    deps.close();
  }
});

/** A registry of `persons` demo persons (half of them female, in ~1.4 records a person), a 100 ms search budget. */
async function registry(persons: number): Promise<TestDeps> {
  const deps = await testDeps({ searchMaxResults: "100000", searchBudgetMs: "100" }, { now: NOW });
  await writeAll(deps.db, demoRecords(persons, 1), { now: () => new Date(NOW).toISOString() });
  return deps;
}

/**
 * Runs `fn` with the clock of `deps` jumping a second ahead when a search's page is read (the first run of a page
 * statement, `SELECT r.id AS id …`); returns what `fn` returned and the page statement's SQL. The
 * count before it ran with the clock standing and made the budget's minimum of checks (it examines thousands
 * of rows, one in 32 checking), so a check of the page (hundreds of rows) stops the search there, where the
 * bench's search was stopped.
 */
async function stopAtThePage<T>(deps: TestDeps, fn: () => T | Promise<T>): Promise<{ out: T; page: string }> {
  const proto = StatementSync.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  // all() reads pages; iterate() read them before the fix (this test shows what that did).
  const originals = { all: proto.all, iterate: proto.iterate };
  let page: string | undefined;
  for (const [name, original] of Object.entries(originals)) {
    proto[name] = function (this: StatementSync, ...params: unknown[]) {
      if (page === undefined && /^SELECT r\.id AS id\b/.test(this.sourceSQL)) {
        page = this.sourceSQL;
        deps.clock.advance(1000);
      }
      return original.apply(this, params);
    };
  }
  try {
    const out = await fn();
    assert.ok(page, "the search read no page");
    return { out, page };
  } finally {
    Object.assign(proto, originals);
  }
}

/**
 * The women, as `sex ne male`: a count that reads its rows one by one, budget checks included (`sex eq female` is
 * one index range, counted without them: src/registry/search_count.ts).
 */
const FEMALE = [{
  seq_num: 1,
  expression1: { attribute_name: "sex", operator: "ne", attribute_value: "male" },
}];

/**
 * The two ways a page is read, each deep enough that reading it examines hundreds of rows: through an index (a
 * sort), and in row id order (search_dense.ts: ~5,000 matches among ~14,000 rows, up to ~90 pages of 5 deep).
 */
const PAGES: Record<string, { criteria: Record<string, unknown>; rowIdRange: boolean }> = {
  "index page (sorted by birth date)": {
    criteria: {
      query_type: "predicate",
      query: FEMALE,
      sort: [{ attribute_name: "birth_date", sort_order: "asc" }],
      pagination: { page_size: 5, page_number: 200 },
    },
    rowIdRange: false,
  },
  "row id page (default order)": {
    criteria: { query_type: "predicate", query: FEMALE, pagination: { page_size: 5, page_number: 60 } },
    rowIdRange: true,
  },
};

function search(deps: TestDeps, criteria: Record<string, unknown>): SearchResponseItem {
  return searchMessage(deps, {
    registry: "social",
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: {
      transaction_id: "t-1",
      search_request: [{ reference_id: "r-1", timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria }],
    },
  }).message.search_response[0];
}

Deno.test("searchMessage(): after a search stopped by its budget in its page, the next search of that shape answers", async () => {
  const deps = await registry(10_000);
  try {
    for (const [name, { criteria, rowIdRange }] of Object.entries(PAGES)) {
      const { out: stopped, page } = await stopAtThePage(deps, () => search(deps, criteria));
      assert.equal(/r\.id <= \?/.test(page), rowIdRange, `${name}: ${page}`);
      assert.equal(stopped.status, "rjct", name);
      assert.equal(stopped.status_reason_code, "rjct.search.too_many_records_found", name);
      assert.match(stopped.status_reason_message ?? "", /100 ms time budget/, name);
      // Before the fix: ERR_SQLITE_ERROR with an empty message, thrown by the page's iterate().
      const next = search(deps, criteria);
      assert.equal(next.status, "succ", `${name}: ${JSON.stringify(next)}`);
      assert.equal(next.data?.reg_records.length, 5, name);
      assert.ok(next.pagination!.total_count > 2000, `${name}: ${next.pagination!.total_count} matches`);
    }
  } finally {
    deps.close();
  }
});

Deno.test("POST /sync/search: a search after one stopped by the budget in its page answers 200 succ, not 500", async () => {
  const deps = await registry(10_000);
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const post = async (criteria: Record<string, unknown>) => {
      const env = alice.sign(requestEnvelope(alice.senderId, {
        transaction_id: "t-1",
        search_request: [{
          reference_id: "r-1",
          timestamp: "2026-01-01T00:00:00Z",
          search_criteria: criteria,
        }],
      }, { totalCount: 1, nowMs: deps.clock.now() }));
      const res = await app.request("/dci_api/v1/social/registry/sync/search", {
        method: "POST",
        headers: { "content-type": "application/json", ...alice.headers() },
        body: JSON.stringify(env),
      });
      return { status: res.status, body: await res.json() };
    };
    const { criteria } = PAGES["index page (sorted by birth date)"];
    const { out: stopped } = await stopAtThePage(deps, () => post(criteria));
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(
      stopped.body.message.search_response[0].status_reason_code,
      "rjct.search.too_many_records_found",
    );
    // Before the fix: 500 err.service.unavailable "Internal error; quote request id …".
    const next = await post(criteria);
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.equal(next.body.header.status, "succ");
    assert.equal(next.body.message.search_response[0].data.reg_records.length, 5);
  } finally {
    deps.close();
  }
});

Deno.test("src/ never reads rows with iterate() (it ends silently on an SQLite error)", async () => {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        for (const m of text.matchAll(/\.iterate\(/g)) found.push(`${path}@${m.index}`);
      }
    }
  };
  await walk(new URL("../../src", import.meta.url).pathname);
  assert.deepEqual(found, []);
});
