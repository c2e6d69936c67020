/** The audit log in PostgreSQL: the same statements as the SQLite store (src/audit/log.ts), numbered. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgDeleteInChunks, pgOne, pgRun, pgText } from "../db/pg/query.ts";
import {
  auditPage,
  auditQuery,
  auditValues,
  DROP_AUDIT,
  FINISH_AUDIT,
  finishValues,
  INSERT_AUDIT,
  PURGE_AUDIT,
} from "./log.ts";
import type { AuditStore } from "./store.ts";

/** The audit log in the PostgreSQL database behind `pool`. */
export function pgAuditStore(pool: PgPool): AuditStore {
  return {
    async record(entry, nowMs) {
      const row = await pgOne<{ id: number }>(
        pool,
        `${pgText(INSERT_AUDIT)} RETURNING id`,
        auditValues(entry, nowMs),
      );
      return row!.id;
    },
    finish: async (id, entry) => void await pgRun(pool, pgText(FINISH_AUDIT), finishValues(id, entry)),
    drop: async (id) => void await pgRun(pool, pgText(DROP_AUDIT), [id]),
    async list(filter = {}) {
      const q = auditQuery(filter);
      return auditPage(await pgAll(pool, pgText(q.sql), q.args), q.limit);
    },
    purge: (cutoffMs) =>
      pgDeleteInChunks(pool, pgText(PURGE_AUDIT), [new Date(cutoffMs).toISOString()], 5000),
  };
}
