/**
 * The PostgreSQL mode of bench/load.ts (BENCH_PG_URL): a fresh database on the cluster of that admin URL, seeded
 * by the CLI, then N instances of the real server on it (each its own data dir, one HTTP isolate unless
 * DCI_HTTP_ISOLATES says otherwise), the load generator's connections spread over them round-robin; the server
 * processes' CPU summed, and the PostgreSQL cluster's CPU beside it (bench/_pg_cpu.ts), per request.
 */
// @ts-types="@types/pg"
import pg from "pg";
import { openPgPool } from "../src/db/pg/pool.ts";
import { pgStorage } from "../src/db/pg/storage.ts";
import { createStoredSender, type TestSender } from "../tests/helpers/auth.ts";
import { cli, fmt, type Served, startRealServer } from "./_lib.ts";
import { type MeasuredRun, measureServers } from "./_load_run.ts";
import { clusterMeters, findPostmaster } from "./_pg_cpu.ts";

/** A database created for the bench on a cluster, dropped by `drop()`. */
interface BenchDatabase {
  url: string;
  name: string;
  /** The cluster's data dir, when this role may read it (superuser or pg_read_all_settings). */
  dataDir?: string;
  drop(): Promise<void>;
}

async function admin<T>(adminUrl: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh UTF8 + C locale database (what the server's migrations require) on `adminUrl`'s cluster. */
async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `dci_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const dataDir = await admin(adminUrl, async (c) => {
    await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`);
    return await c.query<{ data_directory: string }>("SHOW data_directory").then(
      (r) => r.rows[0].data_directory,
      () => undefined,
    );
  });
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    dataDir,
    drop: () =>
      admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

/** What the PostgreSQL mode measured: one run per instance count. */
export interface PgRuns {
  runs: Array<{ instances: number; result: MeasuredRun }>;
  /** Whether the cluster's processes were found on this machine (else no PostgreSQL CPU figures). */
  clusterFound: boolean;
}

/** Seeds `persons` on a fresh database of `adminUrl`'s cluster and loads 1..N instances per `instanceCounts`. */
export async function runPostgresLoad(adminUrl: string, opts: {
  persons: number;
  instanceCounts: number[];
  seconds: number;
  connections: number;
  expectRps: number;
  workDir: string;
  serverEnv: Record<string, string>;
  /** deno flags of a one-instance run's server (bench/load.ts's BENCH_PROFILE: --cpu-prof). */
  oneInstanceFlags?: string[];
}): Promise<PgRuns> {
  const db = await createBenchDatabase(adminUrl);
  const dirs: string[] = [];
  const tempDir = async () => {
    dirs.push(await Deno.makeTempDir({ prefix: "dci-bench-pg-" }));
    return dirs[dirs.length - 1];
  };
  try {
    await cli(await tempDir(), ["registry", "seed", "--demo", String(opts.persons)], {
      DCI_DATABASE_URL: db.url,
    });
    const pool = openPgPool(db.url, { max: 2 });
    let uins: string[];
    try {
      uins = (await pool.query<{ id_value: string }>(
        "SELECT id_value FROM identifiers WHERE id_type = 'UIN' AND live = 1 LIMIT 5000",
      )).rows.map((r) => String(r.id_value));
    } finally {
      await pool.end();
    }
    const postmaster = findPostmaster(new URL(adminUrl).port || "5432", db.dataDir);
    const meters = postmaster ? clusterMeters(postmaster, db.name) : {};
    const isolates = Deno.env.get("DCI_HTTP_ISOLATES") ?? "1";
    const env = { ...opts.serverEnv, DCI_DATABASE_URL: db.url, DCI_HTTP_ISOLATES: isolates };
    let sender: TestSender | undefined;
    const runs: PgRuns["runs"] = [];
    for (const instances of opts.instanceCounts) {
      const servers: Served[] = [];
      try {
        // Started together, as behind a load balancer (start-up runs as one exclusive section on PostgreSQL).
        const dataDirs = await Promise.all(Array.from({ length: instances }, tempDir));
        const flags = instances === 1 ? opts.oneInstanceFlags : undefined;
        servers.push(...await Promise.all(dataDirs.map((d) => startRealServer(d, env, flags))));
        sender ??= await storedSender(db.url, servers[0].url);
        const result = await measureServers(servers, sender, uins, {
          expectRps: opts.expectRps,
          seconds: opts.seconds,
          connections: opts.connections,
          prefix: `${opts.workDir}/pg-${instances}`,
          meters,
        });
        runs.push({ instances, result });
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }
    return { runs, clusterFound: postmaster !== undefined };
  } finally {
    await db.drop();
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

/** A sender created through the PostgreSQL store (rate limits out of the way), its token from `baseUrl`. */
async function storedSender(url: string, baseUrl: string): Promise<TestSender> {
  const pool = openPgPool(url, { max: 2 });
  try {
    return await createStoredSender(pgStorage(pool), baseUrl, {
      limit_minute: 10_000_000,
      limit_day: 1_000_000_000,
    });
  } finally {
    await pool.end();
  }
}

/** The PostgreSQL columns of a run's table row. */
export function postgresColumns(r: MeasuredRun): Record<string, string> {
  return {
    "postgres CPU ms/req (cluster)": fmt(r.perRequest.cluster ?? NaN, 3),
    "postgres CPU ms/req (bench db backends)": fmt(r.perRequest.database ?? NaN, 3),
  };
}
