/**
 * A server on PostgreSQL checks its clock against the database's at start: off by more than CLOCK_SKEW_WARN_MS,
 * it warns (instances compare their clocks through the database: leases, due times); in step, it says nothing.
 * An HTTP isolate (which does not migrate) does not check.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { closeDeps, openDeps } from "../../src/deps.ts";
import { createLogger } from "../../src/obs/log.ts";
import { sharedPostgres } from "../helpers/postgres.ts";

Deno.test("openDeps on PostgreSQL: a clock off the database's by more than 5 s warns at start; in step, nothing", async () => {
  const pg = await sharedPostgres();
  const url = await pg.createDatabase(`clock_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`);
  const warned = async (offsetMs: number, migrateOnOpen?: boolean) => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger("warn", { sink: (l) => lines.push(JSON.parse(l)) });
    const config = testConfig({ databaseUrl: url, dataDir: ":memory:" });
    const deps = await openDeps(config, { clock: { now: () => Date.now() + offsetMs }, log, migrateOnOpen });
    await closeDeps(deps);
    return lines.filter((l) => String(l.msg).includes("clock is off the database's"));
  };
  assert.deepEqual(await warned(0), []);
  const [instanceAhead] = await warned(3_600_000);
  assert.ok(instanceAhead, "an instance an hour ahead of the database warns");
  assert.equal(instanceAhead.level, "warn");
  assert.ok(
    Math.abs(Number(instanceAhead.database_ahead_ms) + 3_600_000) < 5_000,
    String(instanceAhead.database_ahead_ms),
  );
  const [instanceBehind] = await warned(-60_000);
  assert.ok(
    Math.abs(Number(instanceBehind.database_ahead_ms) - 60_000) < 5_000,
    String(instanceBehind.database_ahead_ms),
  );
  assert.deepEqual(await warned(3_600_000, false), [], "an HTTP isolate does not check");
});
