/** Fresh in-memory deps for route and unit tests: `:memory:` SQLite, in-memory KV, a fake clock. */
import { type Config, testConfig } from "../../src/config.ts";
import { closeDeps, type Deps, openDeps } from "../../src/deps.ts";
import { fakeClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/obs/log.ts";

/** Test deps with a movable clock; call `close()` at the end of the test. */
export type TestDeps = Deps & { clock: ReturnType<typeof fakeClock>; close(): void };

/** Opens fresh deps for one test. */
export async function testDeps(
  overrides: Partial<Record<keyof Config, string>> = {},
  options: { now?: number } = {},
): Promise<TestDeps> {
  const clock = fakeClock(options.now ?? Date.now());
  const deps = await openDeps(testConfig(overrides), { clock, log: silentLogger });
  return Object.assign(deps, { clock, close: () => closeDeps(deps) });
}
