/**
 * Two server instances on one database, per backend: `instancesTest(name, fn)` registers `name [sqlite]` (two
 * connections to one SQLite file, as two isolates of one server) and `name [postgres]` (two pools on one database
 * of the shared test cluster, as two instances behind a load balancer). Each test gets a fresh database, `exec`
 * to write rows of other areas with plain SQL (`?` placeholders), and `deps(storage)` for the sender services.
 */
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { freshStorage } from "./storage.ts";
import { testConfig } from "../../src/config.ts";
import { fakeClock } from "../../src/clock.ts";
import { Metrics } from "../../src/obs/metrics.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { type Deps, depsServices } from "../../src/deps.ts";

/** Two instances' stores on one fresh database. */
export interface TwoInstances {
  kind: Storage["kind"];
  a: Storage;
  b: Storage;
  /** Runs one statement (SQLite text, `?` placeholders) on the database. */
  exec(sql: string, ...values: (string | number | null)[]): Promise<void>;
  /** The first row of a query (SQLite text), for checks beside the stores. */
  one<R>(sql: string, ...values: (string | number | null)[]): Promise<R | undefined>;
}

/** Enough of Deps for the sender services over `storage` (fixed clock, test config, no outbound HTTP). */
export function senderDeps(
  storage: Storage,
  nowMs = Date.parse("2026-01-01T00:00:00Z"),
): Deps & { clock: ReturnType<typeof fakeClock> } {
  return {
    storage,
    config: testConfig(),
    clock: fakeClock(nowMs),
    metrics: new Metrics(),
    log: silentLogger,
    ...depsServices(),
  } as unknown as Deps & { clock: ReturnType<typeof fakeClock> };
}

async function open(kind: Storage["kind"]): Promise<TwoInstances & { close(): Promise<void> }> {
  if (kind === "sqlite") {
    const dir = await Deno.makeTempDir({ prefix: "dci-two-" });
    const first = openDatabase(`${dir}/dci.sqlite`);
    migrate(first);
    const second = openDatabase(`${dir}/dci.sqlite`);
    return {
      kind,
      a: sqliteStorage(first),
      b: sqliteStorage(second),
      exec: (sql, ...values) => Promise.resolve(void first.prepare(sql).run(...values)),
      one: <R>(sql: string, ...values: (string | number | null)[]) =>
        Promise.resolve(first.prepare(sql).get(...values) as R | undefined),
      close: async () => {
        first.close();
        second.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  }
  const t = await freshStorage("postgres");
  return {
    kind,
    a: t.storage,
    b: t.twin(),
    exec: async (sql, ...values) => void await t.sql(sql, values),
    one: async <R>(sql: string, ...values: (string | number | null)[]) => (await t.sql(sql, values))[0] as R,
    close: t.close,
  };
}

/** Registers `fn` once per backend, each with two instances on a fresh database. */
export function instancesTest(name: string, fn: (t: TwoInstances) => Promise<void>): void {
  for (const kind of ["sqlite", "postgres"] as const) {
    Deno.test(`${name} [${kind}]`, async () => {
      const t = await open(kind);
      try {
        await fn(t);
      } finally {
        await t.close();
      }
    });
  }
}
