/**
 * Bulk loads on PostgreSQL (bulk.ts on SQLite): a load into an empty registry drops the registry's partial search
 * indexes and recreates them at its end, their DDL kept in `registry_deferred_indexes` so that an interrupted
 * load loses nothing (`pgRestoreIndexes` runs at every start and before every bulk load). Instances defer and
 * restore under the advisory transaction lock of index creation (pg_indexes.ts), so two never drop or create
 * the same index at once. An instance
 * that starts while another is loading recreates the indexes early: the load is slower, never wrong.
 * Also the import job's progress, written in the batch's transaction (imports/store.ts `recordProgress`).
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, type PgQueryable, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import { prefixesOf } from "./bulk.ts";
import { INDEX_LOCK_KEY, pgMissingIndexes } from "../registries/pg_indexes.ts";
import { pgRegistryStore } from "./pg_registry_store.ts";
import type { ImportReport } from "./batch.ts";
import { PROGRESS_SQL, rejectsToKeep } from "./imports/store.ts";

const LOCK = "SELECT pg_advisory_xact_lock($1)";
const INDEXES =
  "SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1";

/** Drops the search indexes of `registry` (social when not given), remembering their DDL; returns how many. */
export function pgDeferIndexes(pool: PgPool, registry = "social"): Promise<number> {
  const prefixes = prefixesOf(registry);
  return pgTransaction(pool, async (client) => {
    await client.query(LOCK, [INDEX_LOCK_KEY]);
    // As on SQLite: a registry never written has no index yet; their DDL is recorded from its profile, for the end
    // of the load to build them, without building them first (each build reads every registrant).
    const { missing } = await pgMissingIndexes(client, registry);
    const rows = [
      ...missing,
      ...(await pgAll<{ name: string; sql: string }>(client, INDEXES, ["registrants"]))
        .filter((r) => prefixes.some((p) => r.name.startsWith(p))),
    ];
    for (const r of rows) {
      await pgRun(
        client,
        `INSERT INTO registry_deferred_indexes (name, sql) VALUES ($1, $2)
          ON CONFLICT (name) DO UPDATE SET sql = excluded.sql`,
        [r.name, r.sql],
      );
      // The name comes from pg_indexes (our own schema), never from input; a missing one has none to drop.
      if (!missing.includes(r)) await client.query(`DROP INDEX "${r.name.replaceAll('"', "")}"`);
    }
    return rows.length;
  });
}

/** Recreates any deferred index (and refreshes planner statistics); returns how many. */
export async function pgRestoreIndexes(pool: PgPool): Promise<number> {
  const rows = await pgAll<{ name: string; sql: string }>(
    pool,
    "SELECT name, sql FROM registry_deferred_indexes",
  );
  for (const r of rows) {
    await pgTransaction(pool, async (client) => {
      await client.query(LOCK, [INDEX_LOCK_KEY]);
      const exists = (await pgAll<{ name: string }>(client, INDEXES, ["registrants"])).some((i) =>
        i.name === r.name
      );
      const still = await pgOne(client, "SELECT 1 AS x FROM registry_deferred_indexes WHERE name = $1", [
        r.name,
      ]);
      if (!exists && still) await client.query(r.sql);
      await pgRun(client, "DELETE FROM registry_deferred_indexes WHERE name = $1", [r.name]);
    });
  }
  if (rows.length > 0) await pool.query("ANALYZE registrants");
  return rows.length;
}

/**
 * Runs `load` as a bulk load (load_store.ts `bulkLoad`): restores what an interrupted load left, defers the
 * registry's indexes when `bulk` (default: the registry is empty) and restores them at the end.
 */
export async function pgBulkLoad<T>(
  pool: PgPool,
  load: () => Promise<T>,
  options: { registry?: string; bulk?: boolean },
): Promise<T> {
  await pgRestoreIndexes(pool);
  const bulk = options.bulk ?? await pgRegistryStore(pool).isEmpty(options.registry);
  if (bulk) await pgDeferIndexes(pool, options.registry);
  try {
    return await load();
  } finally {
    if (bulk) await pgRestoreIndexes(pool);
  }
}

/** imports/store.ts `recordProgress` on PostgreSQL, on the batch's transaction `client`. */
export async function pgRecordProgress(client: PgQueryable, id: number, batch: ImportReport): Promise<void> {
  const before = await pgOne<{ n: number }>(client, pgText(PROGRESS_SQL.rejected), [id]);
  for (const [seq, r] of rejectsToKeep(batch, Number(before!.n))) {
    await pgRun(client, pgText(PROGRESS_SQL.reject), [id, seq, r.line, r.reason]);
  }
  await pgRun(client, pgText(PROGRESS_SQL.counts), [
    batch.read,
    batch.registered,
    batch.updated,
    batch.rejectedCount,
    id,
  ]);
}
