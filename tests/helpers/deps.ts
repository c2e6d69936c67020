/** Fresh in-memory deps for route and unit tests: `:memory:` SQLite, in-memory KV, a fake clock. */
import { type Config, testConfig } from "../../src/config.ts";
import { closeDeps, type Deps, openDeps } from "../../src/deps.ts";
import { fakeClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";
import { offlineResolver } from "./no_egress.ts";

/** Test deps with a movable clock; call `close()` at the end of the test. */
export type TestDeps = Deps & { clock: ReturnType<typeof fakeClock>; close(): void };

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
  return Object.assign(deps, { clock, close: () => closeDeps(deps) });
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
