/**
 * Bulk loads on PostgreSQL (bulk.ts on SQLite): a load into an empty registry drops the registry's partial search
 * indexes and recreates them at its end, their DDL kept in `registry_deferred_indexes` so that an interrupted
 * load loses nothing (`pgRestoreIndexes` runs at every start and before every bulk load). Instances restore one
 * at a time, concurrently with every instance's writes (CREATE INDEX CONCURRENTLY under the index build lock,
 * pg_indexes.ts), and defer between builds, so two never drop or create the same index at once. An instance
 * that starts while another is loading recreates the indexes early: the load is slower, never wrong.
 * Also the import job's progress, written in the batch's transaction (imports/store.ts `recordProgress`).
 */
import type { PgPool } from "../db/pg/pool.ts";
import {
  pgAll,
  pgDropInvalidIndex,
  pgOne,
  type PgQueryable,
  pgRun,
  pgTakeTurns,
  pgText,
  pgTransaction,
} from "../db/pg/query.ts";
import { prefixesOf } from "./bulk.ts";
import { INDEX_BUILD_KEY, INDEX_LOCK_KEY, pgMissingIndexes } from "../registries/pg_indexes.ts";
import { pgRegistryStore } from "./pg_registry_store.ts";
import type { ImportReport } from "./batch.ts";
import {
  type ImportJobRun,
  ImportJobTaken,
  PROGRESS_SQL,
  progressValues,
  rejectsToKeep,
} from "./imports/store.ts";

const LOCK = "SELECT pg_advisory_xact_lock($1)";
const INDEXES =
  "SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1";

/**
 * Drops the search indexes of `registry` (social when not given), remembering their DDL; returns how many. Not
 * while an index build runs (INDEX_BUILD_KEY, tried in the transaction and tried again every 250 ms): its DROP INDEX
 * would wait for the build, and every query of registrants on every instance would queue behind that wait.
 */
export async function pgDeferIndexes(pool: PgPool, registry = "social"): Promise<number> {
  for (;;) {
    const n = await deferOnce(pool, registry);
    if (n !== undefined) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** pgDeferIndexes's one try: undefined when an index build holds INDEX_BUILD_KEY. */
function deferOnce(pool: PgPool, registry: string): Promise<number | undefined> {
  const prefixes = prefixesOf(registry);
  return pgTransaction(pool, async (client) => {
    const free = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [
      INDEX_BUILD_KEY,
    ]);
    if (!free.rows[0].ok) return undefined;
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

/**
 * Recreates any deferred index (and refreshes planner statistics); returns how many. Each with CREATE INDEX
 * CONCURRENTLY, outside any transaction, on a connection holding INDEX_BUILD_KEY (taken by trying, as a start-up's
 * build takes it: pgBuildIndexesConcurrently): every instance's registry writes go on meanwhile, where a plain
 * build holds them all (a SHARE lock on registrants) for minutes after a large load. One a stop left invalid
 * mid-build is dropped and built again; its row goes once it is built, so a stop loses nothing.
 */
export async function pgRestoreIndexes(pool: PgPool): Promise<number> {
  const rows = await pgAll<{ name: string; sql: string }>(pool, DEFERRED);
  if (rows.length === 0) return 0;
  const built = await pgTakeTurns(pool, INDEX_BUILD_KEY, async (client) => {
    // Read again under the lock: another instance may have built some meanwhile.
    const left = await pgAll<{ name: string; sql: string }>(client, DEFERRED);
    for (const r of left) {
      await pgDropInvalidIndex(client, r.name);
      await client.query(concurrently(r.sql));
      await pgRun(client, "DELETE FROM registry_deferred_indexes WHERE name = $1", [r.name]);
    }
    return left.length;
  });
  if (built > 0) await pool.query("ANALYZE registrants");
  return built;
}

/** The deferred indexes' DDL, as recorded. */
const DEFERRED = "SELECT name, sql FROM registry_deferred_indexes ORDER BY name";

/**
 * `sql` (pg_indexes' `CREATE [UNIQUE] INDEX name ON …`, or the profile's `CREATE INDEX IF NOT EXISTS name ON …`) as
 * a concurrent build that skips an index already there (an invalid one is dropped first: pgDropInvalidIndex).
 */
function concurrently(sql: string): string {
  const m = /^CREATE (UNIQUE )?INDEX (?:IF NOT EXISTS )?/.exec(sql);
  if (!m) throw new Error(`not an index's DDL: ${sql.slice(0, 80)}`);
  return `CREATE ${m[1] ?? ""}INDEX CONCURRENTLY IF NOT EXISTS ${sql.slice(m[0].length)}`;
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
export async function pgRecordProgress(
  client: PgQueryable,
  job: ImportJobRun,
  batch: ImportReport,
): Promise<void> {
  const after = await pgOne<{ n: number }>(client, pgText(PROGRESS_SQL.counts), progressValues(job, batch));
  if (!after) throw new ImportJobTaken(job.id);
  job.read += batch.read;
  for (const [seq, r] of rejectsToKeep(batch, Number(after.n) - batch.rejectedCount)) {
    await pgRun(client, pgText(PROGRESS_SQL.reject), [job.id, seq, r.line, r.reason]);
  }
}
