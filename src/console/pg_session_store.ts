/** The console sessions in PostgreSQL: the statements of src/console/session_store.ts, numbered. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  type ConsoleSessionStore,
  DASHBOARD_COUNTS,
  DELETE_EXPIRED,
  END_SESSION,
  INSERT_SESSION,
  KEEP_VALUES,
  type KeptValues,
  READ_SESSION,
  type SessionRow,
} from "./session_store.ts";

/**
 * Reads and clears in one statement: the row is locked as it is read, and a second taker waiting on the lock
 * finds the values cleared and takes nothing.
 */
const TAKE_VALUES = `WITH kept AS (
    SELECT id_hash, flash, once FROM console_sessions
     WHERE id_hash = $1 AND (flash IS NOT NULL OR once IS NOT NULL) FOR UPDATE
  )
  UPDATE console_sessions s SET flash = NULL, once = NULL FROM kept WHERE s.id_hash = kept.id_hash
  RETURNING kept.flash, kept.once`;

/** The console sessions in the PostgreSQL database behind `pool`. */
export function pgSessionStore(pool: PgPool): ConsoleSessionStore {
  return {
    create: (idHash, tokenId, nowMs, expiresAt) =>
      pgTransaction(pool, async (c) => {
        await pgRun(c, pgText(DELETE_EXPIRED), [nowMs]);
        await pgRun(c, pgText(INSERT_SESSION), [idHash, tokenId, nowMs, expiresAt]);
      }),
    read: (idHash, nowMs) => pgOne<SessionRow>(pool, pgText(READ_SESSION), [idHash, nowMs]),
    end: async (idHash) => void await pgRun(pool, pgText(END_SESSION), [idHash]),
    keep: async (idHash, values) =>
      void await pgRun(pool, pgText(KEEP_VALUES), [values.flash, values.once, idHash]),
    take: (idHash) => pgOne<KeptValues>(pool, TAKE_VALUES, [idHash]),
    counts: async () =>
      (await pgOne<Awaited<ReturnType<ConsoleSessionStore["counts"]>>>(pool, DASHBOARD_COUNTS))!,
  };
}
