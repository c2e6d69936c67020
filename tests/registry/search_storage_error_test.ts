/**
 * Issue 16 hardening: a search's storage error that is not its budget's stop answers what any internal failure
 * answers (500 err.service.unavailable quoting the request id, the error logged under that id), through the
 * search pool as in the isolate. The pool used to receive a worker's error as its stack text, without SQLite's
 * codes, so only the text told a busy or full database (503, or an async attempt not counted) from anything else.
 */
import assert from "node:assert/strict";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { testConfig } from "../../src/config.ts";
import { closeDeps, openSqliteDeps } from "../../src/deps.ts";
import { createLogger, silentLogger } from "../../src/obs/log.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";
import { createSearchPool } from "../../src/registry/search_pool.ts";
import { attemptProcessing } from "../../src/transactions/attempt.ts";
import { PROCESSORS } from "../../src/actions/processors.ts";
import type { TxnRow } from "../../src/transactions/store.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");

const FEMALE = [{
  seq_num: 1,
  expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
}];

/**
 * A data dir whose registry cannot be searched: its `registrants` table renamed, so a search's first statement
 * fails in SQLite ("no such table", result code 1), as a storage fault that is not the budget would.
 */
async function brokenDataDir(): Promise<string> {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-search-error-" });
  const deps = await openSqliteDeps(testConfig({ dataDir }), { log: silentLogger, ensureKey: false });
  try {
    await writeAll(deps.db, demoRecords(50, 1), { now: () => new Date(NOW).toISOString() });
    deps.db.exec("ALTER TABLE registrants RENAME TO registrants_gone");
  } finally {
    closeDeps(deps);
  }
  return dataDir;
}

const SCAN = { query_type: "predicate", query: FEMALE };

Deno.test("search pool: a worker's storage error reaches the pool with SQLite's code, result code and message", async () => {
  const dataDir = await brokenDataDir();
  const config = testConfig({ dataDir });
  const pool = createSearchPool({ size: 1, dbPath: `${dataDir}/dci.sqlite`, config, log: silentLogger });
  try {
    const err = await pool.run("a", {
      registry: "social",
      header: { version: "1.0.0", action: "search", total_count: 1 },
      message: {
        transaction_id: "t-1",
        search_request: [{ reference_id: "r-1", timestamp: "2026-01-01T00:00:00Z", search_criteria: SCAN }],
      },
    }).then(
      () => assert.fail("the search answered"),
      (e) => e as Error & { code?: string; errcode?: number },
    );
    // Before: new Error(the worker's stack text), without code or errcode.
    assert.equal(err.code, "ERR_SQLITE_ERROR");
    assert.equal(err.errcode, 1);
    assert.match(err.message, /^no such table: registrants$/);
    // (Its frames from the worker's search: V8 keeps the innermost 10, search_worker.ts's among them or not.)
    assert.match(err.stack ?? "", /registry\/search\.ts/, "the worker's stack, where the error happened");
  } finally {
    pool.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("POST /sync/search through the search pool: a storage error answers 500 with the request id, logged with SQLite's codes", async () => {
  const dataDir = await brokenDataDir();
  const lines: string[] = [];
  const log = createLogger("error", { sink: (line) => lines.push(line) });
  const deps = await openSqliteDeps(testConfig({ dataDir, searchWorkers: "1" }), { log });
  try {
    assert.ok(deps.searchPool, "a file-backed registry searches in the pool");
    const alice = await createTestSender(deps);
    const env = alice.sign(requestEnvelope(alice.senderId, {
      transaction_id: "t-1",
      search_request: [{ reference_id: "r-1", timestamp: "2026-01-01T00:00:00Z", search_criteria: SCAN }],
    }, { totalCount: 1 }));
    const res = await createApp(deps).request("/dci_api/v1/social/registry/sync/search", {
      method: "POST",
      headers: { "content-type": "application/json", ...alice.headers() },
      body: JSON.stringify(env),
    });
    const body = await res.json();
    assert.equal(res.status, 500, JSON.stringify(body));
    const requestId = res.headers.get("x-request-id");
    assert.ok(requestId);
    assert.deepEqual(body.message.error, {
      code: "err.service.unavailable",
      message: `Internal error; quote request id ${requestId}`,
    });
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
    assert.equal(logged?.request_id, requestId);
    assert.equal(logged?.err?.message, "no such table: registrants");
    assert.equal(logged?.err?.errcode, 1);
    assert.equal(logged?.err?.code, "ERR_SQLITE_ERROR");
  } finally {
    closeDeps(deps);
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("async search through the search pool: a storage error is a failed attempt recorded with SQLite's message, not a stack", async () => {
  const dataDir = await brokenDataDir();
  const deps = await openSqliteDeps(testConfig({ dataDir, searchWorkers: "1" }), {
    log: silentLogger,
    ensureKey: false,
  });
  try {
    const row = {
      action: "search",
      registry: "social",
      sender_id: "a",
      transaction_id: "t-1",
      correlation_id: "c-1",
      request_header: JSON.stringify({ version: "1.0.0", action: "search", total_count: 1 }),
      request_message: JSON.stringify({
        transaction_id: "t-1",
        search_request: [{ reference_id: "r-1", timestamp: "2026-01-01T00:00:00Z", search_criteria: SCAN }],
      }),
    } as TxnRow;
    const outcome = await attemptProcessing(deps, row, { budgetMs: 30_000, processors: PROCESSORS });
    // Before: "Error: Error: no such table: registrants\n    at stmt (…" (the worker's stack as the message). The
    // error itself goes to the log, with its stack (`cause`); the row keeps the message.
    const { cause, ...stored } = outcome as typeof outcome & { cause?: unknown };
    assert.deepEqual(stored, {
      ok: false,
      error: "Error: no such table: registrants",
      overBudget: false,
      transient: false,
    });
    assert.match(String((cause as Error)?.message), /no such table: registrants/);
  } finally {
    closeDeps(deps);
    await Deno.remove(dataDir, { recursive: true });
  }
});
