/**
 * Fresh deps for route and unit tests, with a fake clock: on `:memory:` SQLite with in-memory KV, or, when
 * DCI_TEST_BACKEND=postgres (the suite's second pass, `deno task test:pg`), on a fresh migrated database of the
 * shared PostgreSQL test cluster (tests/helpers/storage.ts `freshPgDatabase`).
 */
import { type Config, testConfig } from "../../src/config.ts";
import { closeDeps, type Deps, openDeps } from "../../src/deps.ts";
import type { Db } from "../../src/db/sqlite.ts";
import { fakeClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";
import { offlineResolver } from "./no_egress.ts";
import { specOutbound } from "./spec_hooks.ts";
import type { SpecRegistry } from "./spec_validator.ts";
import type { OutboundClient } from "../../src/net/outbound.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { freshPgDatabase, pgRawSql, type RawSql, sqliteRawSql, TEST_BACKEND } from "./storage.ts";

export { freshPgDatabase, TEST_BACKEND };

/**
 * Deps whose fields a test may reassign (Deps' are readonly): a test owns its deps and swaps a part (`http`,
 * `log`, `queue`, …) before or between uses; production code gets each part once, from openDeps.
 */
export type WritableDeps = { -readonly [K in keyof Deps]: Deps[K] };

/**
 * One statement on the test's database in SQLite's dialect with `?` placeholders (numbered for PostgreSQL), for
 * fixtures of what no store writes and for looking behind a store; returns the rows.
 */
export type TestSqlFn = RawSql;

/** Test deps with a movable clock; call `close()` at the end of the test. */
export type TestDeps = WritableDeps & {
  /**
   * The embedded SQLite database and its KV, for tests of SQLite-only parts (listed in tests/sqlite_only.ts, or
   * cases ignored on PostgreSQL): undefined on PostgreSQL. Tests of behaviour use `sql` and the stores.
   */
  db: Db;
  kv: Deno.Kv;
  /** Raw SQL on the test's database, whichever the backend. */
  sql: TestSqlFn;
  backend: "sqlite" | "postgres";
  clock: ReturnType<typeof fakeClock>;
  close(): void;
};

/** Opens fresh deps for one test, on TEST_BACKEND unless `overrides.databaseUrl` names a database. */
export async function testDeps(
  overrides: Partial<Record<keyof Config, string>> = {},
  options: { now?: number } = {},
): Promise<TestDeps> {
  const clock = fakeClock(options.now ?? Date.now());
  if (TEST_BACKEND === "postgres" && overrides.databaseUrl === undefined) {
    overrides = { ...overrides, databaseUrl: await freshPgDatabase() };
  }
  const config = testConfig(overrides);
  // Names never reach DNS from a test: the guarded client resolves with a resolver that sends no query.
  const http = createOutboundClient(config, { resolver: offlineResolver() });
  const deps = await openDeps(config, { clock, log: silentLogger, http });
  const { db } = deps;
  // On PostgreSQL the test's raw SQL has a pool of its own, so that it never waits behind the server's.
  const pool = db ? undefined : openPgPool(config.databaseUrl, { max: 2 });
  const sql: TestSqlFn = pool ? pgRawSql(pool) : sqliteRawSql(db!);
  checkCallbacks(deps, sql);
  const testDeps = Object.assign(deps, {
    sql,
    backend: db ? "sqlite" as const : "postgres" as const,
    clock,
    close: () => void Promise.all([closeDeps(deps), pool?.end()]),
  });
  // On PostgreSQL there is no SQLite handle and no KV: both stay undefined, as the server's own code expects.
  return testDeps as TestDeps;
}

/**
 * Makes `deps.http` check every callback and notification against the spec before it goes out, including a
 * client a test assigns later (`deps.http = scriptedHttp()`): the property wraps whatever it is given.
 */
function checkCallbacks(deps: Deps, sql: TestSqlFn): void {
  const registryOf = (body: unknown) => callbackRegistry(sql, body);
  let client = specOutbound(deps.http, registryOf);
  Object.defineProperty(deps, "http", {
    get: () => client,
    set: (next: OutboundClient) => {
      client = specOutbound(next, registryOf);
    },
    enumerable: true,
  });
}

const SPEC_REGISTRIES: readonly string[] = ["social", "crvs", "fr", "dr", "ibr"];

/** The registry a callback comes from: its transaction's, or its notification's subscription's. */
async function callbackRegistry(sql: TestSqlFn, raw: unknown): Promise<SpecRegistry | null | undefined> {
  const body = (raw ?? {}) as { header?: { action?: unknown }; message?: Record<string, unknown> };
  const header = body.header;
  const message = body.message ?? {};
  try {
    const [row] = header?.action === "notify"
      ? await sql(
        `SELECT s.registry FROM notifications n JOIN subscriptions s ON s.id = n.subscription_id
         WHERE n.notification_id = ?`,
        [String(message.transaction_id)],
      )
      : await sql("SELECT registry FROM transactions WHERE correlation_id = ?", [
        String(message.correlation_id),
      ]);
    const registry = (row as { registry?: string } | undefined)?.registry;
    // A registry without a spec yaml (a test-only profile) is not checked (null); none found: social.
    if (registry === undefined) return undefined;
    return SPEC_REGISTRIES.includes(registry) ? registry as SpecRegistry : null;
  } catch {
    return undefined; // closed or a stub database: social
  }
}

/** Runs `fn` with fresh test deps and closes them afterwards, whether it passes or throws. */
export async function withTestDeps<T>(
  overrides: Partial<Record<keyof Config, string>>,
  fn: (deps: TestDeps) => Promise<T>,
): Promise<T> {
  const deps = await testDeps(overrides);
  try {
    return await fn(deps);
  } finally {
    deps.close();
  }
}
