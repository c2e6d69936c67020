/** The replay guard's purge in PostgreSQL (its records are written by dci_admit: src/senders/pg_limits_store.ts). */
import type { PgPool } from "../db/pg/pool.ts";
import { pgDeleteInChunks, pgText } from "../db/pg/query.ts";
import { PURGE_REPLAY_PG, REPLAY_PURGE_CHUNK } from "./replay.ts";
import type { ReplayGuard } from "./replay_store.ts";

/** The replay guard in the PostgreSQL database behind `pool`. */
export function pgReplayGuard(pool: PgPool): ReplayGuard {
  return {
    purge: (beforeMs) =>
      pgDeleteInChunks(pool, pgText(PURGE_REPLAY_PG), [beforeMs, beforeMs], REPLAY_PURGE_CHUNK),
  };
}
