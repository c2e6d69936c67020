/**
 * The search indexes of the registries other than social on PostgreSQL (see indexes.ts): created by the start of a
 * server that names the registry (registry/startup.ts) or the first time the registry is written, in a transaction
 * (the writer's), skipped while a bulk load has them deferred. Instances create them one at a time (a
 * transaction-level advisory lock), so two never race on one name.
 */
import type { PgClient } from "../db/pg/pool.ts";
import { pgAll, pgOne, type PgQueryable, pgText } from "../db/pg/query.ts";
import { profileOf } from "./index.ts";
import { DEFERRED_PREFIX, indexPrefix, recordTypeIndexList, registriesToCheck } from "./indexes.ts";

/** The advisory lock key of registry index creation ("dcix" in ASCII). */
export const INDEX_LOCK_KEY = 0x64636978;

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
  await client.query("SELECT pg_advisory_xact_lock($1)", [INDEX_LOCK_KEY]);
  for (const i of missing) await client.query(i.sql);
  return false;
}

/**
 * The indexes `registry` lacks now (a bulk load's deferred ones not counted: its end rebuilds them), and whether
 * some are deferred.
 */
export async function pgMissingIndexes(
  db: PgQueryable,
  registry: string,
): Promise<{ missing: Array<{ name: string; sql: string }>; deferred: boolean }> {
  const profile = profileOf(registry);
  if (registry === "social" || !profile) return { missing: [], deferred: false };
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
  const present = new Set(
    (await pgAll<{ name: string }>(
      db,
      `SELECT relname AS name FROM pg_class
        WHERE relkind = 'i' AND relname = ANY($1::text[]) AND relnamespace = current_schema()::regnamespace`,
      [wanted.map((i) => i.name.slice(0, MAX_NAME))],
    )).map((r) => r.name),
  );
  const missing = wanted.filter((i) => !present.has(i.name.slice(0, MAX_NAME)));
  // Named as PostgreSQL stores them (cut at its longest identifier), as pg_indexes lists them once built.
  return { missing: missing.map((i) => ({ name: i.name.slice(0, MAX_NAME), sql: i.sql })), deferred };
}
