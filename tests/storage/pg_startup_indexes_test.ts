/**
 * On PostgreSQL, a start-up that builds the search indexes of a registry served for the first time builds them
 * concurrently (CREATE INDEX CONCURRENTLY, outside a transaction), so other instances keep writing to registrants
 * meanwhile; an index a concurrent build left invalid is dropped and built again; and instances starting together
 * take turns at the start-up's section by trying its lock, never in a statement waiting for it (which a concurrent
 * build would wait for in turn).
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { socialProfile } from "../../src/registries/social/profile.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { recordTypeIndexList } from "../../src/registries/indexes.ts";
import { pgDeferIndexes } from "../../src/registry/pg_bulk.ts";

const NOW = "2026-06-01T00:00:00.000Z";

/** crvs's indexes as PostgreSQL lists them, and whether each is valid. */
async function crvsIndexes(pool: PgPool): Promise<Array<[string, boolean]>> {
  const { rows } = await pool.query<{ name: string; valid: boolean }>(
    `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname LIKE 'reg\\_r\\_crvs\\_%' ORDER BY c.relname`,
  );
  return rows.map((r) => [r.name, r.valid]);
}

/** Polls `check` every 20 ms until it holds (5 s at most). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never: ${what}`);
}

/** The pools of a test database with social seeded and crvs never written, and crvs's index names. */
interface Env {
  pool: PgPool;
  other: PgPool;
  storage: ReturnType<typeof pgStorage>;
  wanted: string[];
}

/**
 * On a fresh database (`name`) with social seeded: `prepare` runs, then an index build `build` starts (its promise)
 * while another instance's write is left open, and is held at its start by it; `during` runs then, the write
 * commits, the build ends, and `after` runs.
 */
async function heldIndexBuild(
  name: string,
  steps: {
    prepare?: (env: Env) => Promise<void>;
    build: (env: Env) => Promise<unknown>;
    during: (env: Env) => Promise<void>;
    after: (env: Env) => Promise<void>;
  },
): Promise<void> {
  const url = await newPgDatabase(name);
  const pool = openPgPool(url, { max: 4 });
  const other = openPgPool(url, { max: 4 });
  try {
    await migratePg(pool);
    const storage = pgStorage(pool);
    await storage.registryLoad.writeAll(demoSource(socialProfile, 20, 1), {
      now: () => NOW,
      profile: socialProfile,
    });
    const wanted = crvsProfile.recordTypes.flatMap((rt) =>
      recordTypeIndexList(rt, "postgres").map((i) => i.name)
    );
    const env = { pool, other, storage, wanted };
    await steps.prepare?.(env);
    const writer = await other.connect();
    let build: Promise<unknown> | undefined;
    try {
      await writer.query("BEGIN");
      await writer.query(
        "UPDATE registrants SET last_updated = last_updated WHERE id = (SELECT MIN(id) FROM registrants)",
      );
      build = steps.build(env);
      await until(async () =>
        (await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE (query LIKE 'CREATE INDEX%' OR query LIKE 'DROP INDEX%')
            AND wait_event_type = 'Lock'`,
        )).rows.length > 0, "the build waiting for the open write");
      await steps.during(env);
      await writer.query("COMMIT");
    } catch (err) {
      await writer.query("ROLLBACK").catch(() => {});
      await build?.catch(() => {});
      throw err;
    } finally {
      writer.release();
    }
    await build;
    await steps.after(env);
  } finally {
    await pool.end();
    await other.end();
  }
}

/**
 * A start-up's concurrent build of crvs's indexes (never written) held by another instance's open write
 * (heldIndexBuild); it ends with every index valid.
 */
function heldBuild(
  name: string,
  during: (env: Env) => Promise<void>,
  after: (env: Env) => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  return heldIndexBuild(name, {
    prepare: async ({ storage, wanted }) =>
      equal(await storage.registryLoad.missingIndexes("crvs"), wanted.length),
    build: ({ storage }) => storage.registryLoad.buildIndexes("crvs"),
    during,
    after: async (env) => {
      deepEqual(await crvsIndexes(env.pool), env.wanted.map((n) => [n, true] as [string, boolean]).sort());
      await after(env);
    },
  });
}

/** A write of registrants on `other` goes on (within 3 s) while an index build waits: it is no build in a transaction. */
async function writeGoesOn(other: PgPool): Promise<void> {
  // A build in a transaction would now hold every new write to registrants (its SHARE lock queued ahead).
  const second = await other.connect();
  try {
    await second.query("SET lock_timeout = '3s'");
    await second.query(
      "UPDATE registrants SET last_updated = last_updated WHERE id = (SELECT MAX(id) FROM registrants)",
    );
  } finally {
    second.release();
  }
}

Deno.test("pg start-up builds a newly served registry's indexes concurrently: registrant writes go on; an invalid one is built again", async () => {
  await heldBuild("startidx", ({ other }) => writeGoesOn(other), async ({ pool, storage, wanted }) => {
    equal(await storage.registryLoad.missingIndexes("crvs"), 0);
    // As a build cut by a stop leaves it: invalid, which a non-concurrent build's IF NOT EXISTS would take as built.
    await pool.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${wanted[0]}'::regclass`);
    equal(await storage.registryLoad.missingIndexes("crvs"), 1);
    await storage.registryLoad.buildIndexes("crvs");
    deepEqual(await crvsIndexes(pool), wanted.map((n) => [n, true] as [string, boolean]).sort());
  });
});

Deno.test("pg a first write of a registry a start-up is building concurrently goes on without building (no deadlock)", async () => {
  let written: Promise<{ rejectedCount: number }> | undefined;
  await heldBuild("startfirst", async ({ pool, other }) => {
    // Another instance's first write of crvs: it would build the missing indexes in its transaction, its CREATE
    // INDEX waiting for the build's table lock while the build waits for it (cut by the deadlock detector).
    written = pgStorage(other).registryLoad.writeAll(demoSource(crvsProfile, 2, 1), {
      now: () => NOW,
      profile: crvsProfile,
    });
    written.catch(() => {}); // awaited below
    // Its records committed while the build still waits (the load's statistics, refreshed after its commit,
    // wait for the build's table lock: the load itself ends with the build).
    await until(
      async () =>
        (await pool.query("SELECT 1 FROM registrants WHERE registry = 'crvs' LIMIT 1")).rows.length > 0,
      "crvs written",
    );
  }, async () => equal((await written!).rejectedCount, 0));
});

Deno.test("pg instances starting together take turns at the start-up section by trying its lock, not waiting in a statement", async () => {
  const url = await newPgDatabase("startturns");
  const a = openPgPool(url, { max: 2 });
  const b = openPgPool(url, { max: 2 });
  let release = () => {};
  try {
    await migratePg(a);
    const order: string[] = [];
    const held = new Promise<void>((r) => release = r);
    const first = pgStorage(a).exclusive("startup", async () => {
      order.push("a");
      await held;
      order.push("a done");
    });
    await until(() => Promise.resolve(order.length === 1), "a in the section");
    const second = pgStorage(b).exclusive("startup", () => Promise.resolve(void order.push("b")));
    await new Promise((r) => setTimeout(r, 600));
    deepEqual(order, ["a"], "b waits while a holds the section");
    const waiting = await a.query(
      `SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`,
    );
    deepEqual(waiting.rows, [], "no statement waits for the lock");
    release();
    await Promise.all([first, second]);
    deepEqual(order, ["a", "a done", "b"]);
    await rejects(pgStorage(b).exclusive("startup", () => Promise.reject(new Error("boom"))), /boom/);
    // A section that fails gives the lock back.
    equal(await pgStorage(a).exclusive("startup", () => Promise.resolve(1)), 1);
  } finally {
    release();
    await a.end();
    await b.end();
  }
});

Deno.test("pg a bulk load's deferred indexes are rebuilt concurrently: registrant writes go on; one left invalid is built again", async () => {
  // The indexes of registrants, and whether each is valid.
  const indexes = async (pool: PgPool) =>
    (await pool.query<{ name: string; valid: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = 'registrants'::regclass ORDER BY c.relname`,
    )).rows.map((r) => [r.name, r.valid] as [string, boolean]);
  let before: Array<[string, boolean]> = [];
  let deferred = 0;
  await heldIndexBuild("restoreidx", {
    prepare: async ({ pool }) => {
      before = await indexes(pool);
      // As a bulk load into the empty registry leaves them while it loads, or a stop mid-load for the next start.
      deferred = await pgDeferIndexes(pool, "social");
      const names = (await pool.query<{ name: string; sql: string }>(
        "SELECT name, sql FROM registry_deferred_indexes ORDER BY name",
      )).rows;
      equal(names.length, deferred);
      ok(deferred > 5, `${deferred} deferred`);
      deepEqual(await indexes(pool), before.filter(([n]) => !names.some((d) => d.name === n)));
      // One of them built by a stop mid-build: invalid, which IF NOT EXISTS alone would take as built.
      await pool.query(names[0].sql);
      await pool.query(
        `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${names[0].name}'::regclass`,
      );
    },
    build: async ({ storage }) => equal(await storage.registryLoad.restoreIndexes(), deferred),
    during: ({ other }) => writeGoesOn(other),
    after: async ({ pool }) => {
      deepEqual(await indexes(pool), before);
      deepEqual((await pool.query("SELECT name FROM registry_deferred_indexes")).rows, []);
    },
  });
});
