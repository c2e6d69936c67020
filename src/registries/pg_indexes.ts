/**
 * The search indexes of the registries other than social on PostgreSQL (see indexes.ts): created by the start of a
 * server that names the registry (registry/startup.ts; concurrently) or the first time the registry is written, in a
 * transaction (the writer's), skipped while a bulk load has them deferred. Writers create them one at a time (a
 * transaction-level advisory lock), so two never race on one name; a start-up's concurrent build holds a lock of its
 * own, INDEX_BUILD_KEY, which writers only try (a writer waiting for it in a statement would be waited for in turn)
 * and, finding it held, leave the indexes to that build.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, type PgQueryable, pgTakeTurns, pgText } from "../db/pg/query.ts";
import { profileOf } from "./index.ts";
import { DEFERRED_PREFIX, indexPrefix, recordTypeIndexList, registriesToCheck } from "./indexes.ts";

/** The advisory lock key of registry index creation ("dcix" in ASCII). */
export const INDEX_LOCK_KEY = 0x64636978;

/**
 * The advisory lock key of building indexes ("dcib"): a start-up's concurrent build holds it (taken by trying),
 * and a first write builds only when it can take it at once. Otherwise that write would build in its transaction
 * beside the concurrent build: its CREATE INDEX waits for the build's table lock, and the build waits for the
 * write's transaction to end, until PostgreSQL's deadlock detector cuts one of them.
 */
export const INDEX_BUILD_KEY = 0x64636962;

/** PostgreSQL's longest identifier: a longer index name is stored truncated. */
const MAX_NAME = 63;

/** Registries whose indexes a connection has seen committed (a connection lives as long as its pool). */
const ensured = new WeakMap<PgClient, Set<string>>();

/**
 * Creates the missing indexes of `registry` inside `client`'s transaction. Remembered per connection only once
 * they were all found present: a transaction that created them may still roll back, a deferral may end.
 */
export async function pgEnsureRegistryIndexes(client: PgClient, registry: string): Promise<void> {
  const done = registriesToCheck(ensured, client, registry);
  if (!done) return;
  if (await pgBuildMissingIndexes(client, registry)) done.add(registry);
}

/**
 * Creates the missing indexes of `registry` inside `client`'s transaction, whatever the connection has seen; true
 * when none of them is deferred (all are then present once the transaction commits).
 */
export async function pgBuildMissingIndexes(client: PgClient, registry: string): Promise<boolean> {
  const { missing, deferred } = await pgMissingIndexes(client, registry);
  if (missing.length === 0) return !deferred;
  // A start-up building them concurrently: this write goes on without them (that build takes its rows too).
  const free = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [
    INDEX_BUILD_KEY,
  ]);
  if (!free.rows[0].ok) return false;
  await client.query("SELECT pg_advisory_xact_lock($1)", [INDEX_LOCK_KEY]);
  for (const i of missing) await client.query(i.sql);
  return false;
}

/**
 * Builds the indexes `registry` lacks with CREATE INDEX CONCURRENTLY, each outside any transaction, on a connection
 * of `pool` holding INDEX_BUILD_KEY (taken by trying, pgTakeTurns: a first write holding it builds in its transaction):
 * other instances' writes to registrants go on meanwhile, where a build in a transaction holds them until it
 * commits (every index of the registry, each a read of every registrant). One that a concurrent build left invalid
 * (a stop or a failure mid-build) is dropped and built again. For a start-up: its section runs alone among the
 * instances and is taken by trying (pgTakeTurns), since a statement waiting for a lock this instance holds and the
 * build, which waits for every transaction running when it starts, would wait for each other.
 */
export function pgBuildIndexesConcurrently(pool: PgPool, registry: string): Promise<void> {
  return pgTakeTurns(pool, INDEX_BUILD_KEY, async (client) => {
    const { missing, invalid } = await pgMissingIndexes(client, registry);
    for (const i of [...invalid, ...missing]) {
      if (invalid.includes(i)) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${i.name}`);
      await client.query(
        i.sql.replace(/^CREATE INDEX IF NOT EXISTS /, "CREATE INDEX CONCURRENTLY IF NOT EXISTS "),
      );
    }
  });
}

/**
 * The indexes `registry` lacks now (a bulk load's deferred ones not counted: its end rebuilds them), those a
 * concurrent build left invalid (or is building now), and whether some are deferred.
 */
export async function pgMissingIndexes(
  db: PgQueryable,
  registry: string,
): Promise<{ missing: IndexDdl[]; invalid: IndexDdl[]; deferred: boolean }> {
  const profile = profileOf(registry);
  if (registry === "social" || !profile) return { missing: [], invalid: [], deferred: false };
  const wanted: Array<{ name: string; sql: string }> = [];
  let deferred = false;
  for (const rt of profile.recordTypes) {
    const prefix = indexPrefix(rt.storage);
    if (await pgOne(db, pgText(DEFERRED_PREFIX), [prefix.length, prefix]) !== undefined) {
      deferred = true;
      continue;
    }
    wanted.push(...recordTypeIndexList(rt, "postgres"));
  }
  const present = new Map(
    (await pgAll<{ name: string; valid: boolean }>(
      db,
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
        WHERE c.relname = ANY($1::text[]) AND c.relnamespace = current_schema()::regnamespace`,
      [wanted.map((i) => i.name.slice(0, MAX_NAME))],
    )).map((r) => [r.name, r.valid]),
  );
  // Named as PostgreSQL stores them (cut at its longest identifier), as pg_indexes lists them once built.
  const named = wanted.map((i) => ({ name: i.name.slice(0, MAX_NAME), sql: i.sql }));
  return {
    missing: named.filter((i) => !present.has(i.name)),
    invalid: named.filter((i) => present.get(i.name) === false),
    deferred,
  };
}

/** An index's name (as PostgreSQL stores it) and the statement that creates it. */
type IndexDdl = { name: string; sql: string };
