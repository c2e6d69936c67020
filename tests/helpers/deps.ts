/** Fresh in-memory deps for route and unit tests: `:memory:` SQLite, in-memory KV, a fake clock. */
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

/**
 * Deps whose fields a test may reassign (Deps' are readonly): a test owns its deps and swaps a part (`http`,
 * `log`, `queue`, …) before or between uses; production code gets each part once, from openDeps.
 */
export type WritableDeps = { -readonly [K in keyof Deps]: Deps[K] };

/** Test deps with a movable clock; call `close()` at the end of the test. */
export type TestDeps = WritableDeps & {
  /** Test deps are on the embedded SQLite database (in memory), with its KV. */
  db: Db;
  kv: Deno.Kv;
  clock: ReturnType<typeof fakeClock>;
  close(): void;
};

/** Opens fresh deps for one test. */
export async function testDeps(
  overrides: Partial<Record<keyof Config, string>> = {},
  options: { now?: number } = {},
): Promise<TestDeps> {
  const clock = fakeClock(options.now ?? Date.now());
  const config = testConfig(overrides);
  // Names never reach DNS from a test: the guarded client resolves with a resolver that sends no query.
  const http = createOutboundClient(config, { resolver: offlineResolver() });
  const deps = await openDeps(config, { clock, log: silentLogger, http });
  const { db, kv } = deps;
  if (!db || !kv) throw new Error("testDeps: expected the embedded SQLite database");
  checkCallbacks(deps, db);
  return Object.assign(deps, { db, kv, clock, close: () => void closeDeps(deps) });
}

/**
 * Makes `deps.http` check every callback and notification against the spec before it goes out, including a
 * client a test assigns later (`deps.http = scriptedHttp()`): the property wraps whatever it is given.
 */
function checkCallbacks(deps: Deps, db: Db): void {
  const registryOf = (body: unknown) => callbackRegistry(db, body);
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
function callbackRegistry(db: Db, raw: unknown): SpecRegistry | null | undefined {
  const body = (raw ?? {}) as { header?: { action?: unknown }; message?: Record<string, unknown> };
  const header = body.header;
  const message = body.message ?? {};
  try {
    const row = header?.action === "notify"
      ? db.prepare(
        `SELECT s.registry FROM notifications n JOIN subscriptions s ON s.id = n.subscription_id
         WHERE n.notification_id = ?`,
      ).get(String(message.transaction_id))
      : db.prepare("SELECT registry FROM transactions WHERE correlation_id = ?").get(
        String(message.correlation_id),
      );
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
