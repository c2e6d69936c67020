/** The import jobs on PostgreSQL (job_store.ts): store.ts's statements, word for word but one. */
import type { PgPool } from "../../db/pg/pool.ts";
import { pgAll, pgDeleteInChunks, pgOne, pgRun, pgText } from "../../db/pg/query.ts";
import type { Rejection } from "../batch.ts";
import type { ImportJobStore } from "./job_store.ts";
import {
  createValues,
  finishValues,
  IMPORT_SQL,
  type ImportJob,
  importPage,
  LIST_SQL,
  rejectionsOf,
} from "./store.ts";

// `? IS NULL` needs the parameter's type on PostgreSQL.
const GET = `${IMPORT_SQL.select} WHERE id = $1 AND ($2::text IS NULL OR registry = $2)`;

/** The import jobs in the PostgreSQL database behind `pool`. */
export function pgImportJobStore(pool: PgPool): ImportJobStore {
  return {
    create: async (job, now) =>
      Number((await pgOne<{ id: number }>(pool, pgText(IMPORT_SQL.create), createValues(job, now)))!.id),
    get: async (id, registry) => {
      const row = await pgOne<ImportJob>(pool, GET, [id, registry ?? null]);
      return row && { ...row };
    },
    list: async (registry, options) =>
      importPage(
        await pgAll<ImportJob>(pool, pgText(LIST_SQL), [
          registry,
          options.before ?? Number.MAX_SAFE_INTEGER,
          options.limit,
        ]),
        options.limit,
      ),
    rejects: async (id) => rejectionsOf(await pgAll<Rejection>(pool, pgText(IMPORT_SQL.rejects), [id])),
    open: async () => (await pgAll<{ id: number }>(pool, pgText(IMPORT_SQL.open))).map((r) => Number(r.id)),
    markRunning: async (id, now) => await pgRun(pool, pgText(IMPORT_SQL.running), [now, id]) === 1,
    finish: async (id, now, error) =>
      void await pgRun(pool, pgText(IMPORT_SQL.finish), finishValues(id, now, error)),
    purgeFinished: (cutoff) => pgDeleteInChunks(pool, pgText(IMPORT_SQL.purge), [cutoff]),
  };
}
