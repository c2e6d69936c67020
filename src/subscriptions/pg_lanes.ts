/**
 * The delivery lanes' statements in PostgreSQL (src/subscriptions/lane_store.ts, numbered). Several instances
 * run lanes here: the claim is the conditional UPDATE … RETURNING, which PostgreSQL re-checks on the row's latest
 * version once a concurrent claim commits, so one lane runs on one instance at a time; and no instance frees
 * another's leases at start.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne, pgRun, pgText } from "../db/pg/query.ts";
import type { NotifyEvent } from "./notifications.ts";
import type { SenderRow } from "../senders/sender_store.ts";
import { LANE_SQL, type LaneHoldRow, type LaneStore, sendCheckOf } from "./lane_store.ts";

// The header is text that may not be JSON: parsed here rather than cast (a failed ::jsonb cast is an error).
const REQUEST_HEADER = "SELECT request_header FROM transactions WHERE correlation_id = $1";

/** The lanes in the PostgreSQL database behind `pool`. */
export function pgLaneStore(pool: PgPool): LaneStore {
  const run = async (sql: string, values: Array<string | number | null>) => {
    await pgRun(pool, pgText(sql), values);
  };
  return {
    claim: async (id, now, until) =>
      (await pgOne(pool, pgText(LANE_SQL.claim), [until, id, now])) !== undefined,
    renew: async (id, held, until) =>
      (await pgOne(pool, pgText(LANE_SQL.renew), [until, id, held])) !== undefined,
    release: (id, held) => run(LANE_SQL.release, [id, held]),
    releaseAll: () => Promise.resolve(0),
    clearFailures: (id) => run(LANE_SQL.clearFailures, [id]),
    recordFailure: async (id, error, now, limit) =>
      (await pgOne<{ state: string }>(pool, pgText(LANE_SQL.recordFailure), [
        error.slice(0, 500),
        now,
        limit,
        id,
      ]))
        ?.state,
    eventOf: (eventId) => pgOne<NotifyEvent>(pool, pgText(LANE_SQL.eventOf), [eventId]),
    hold: (id, rowId) => pgOne<LaneHoldRow>(pool, pgText(LANE_SQL.hold), [id, rowId]),
    sendCheck: async (id, rowId) =>
      sendCheckOf(await pgOne<SenderRow>(pool, pgText(LANE_SQL.sendCheck), [id, rowId])),
    setCallbackUrl: (id, url) => run(LANE_SQL.setCallbackUrl, [url, id]),
    subscribeUri: async (correlationId) => {
      const row = await pgOne<{ request_header: string }>(pool, REQUEST_HEADER, [correlationId]);
      if (!row) return undefined;
      try {
        const uri = (JSON.parse(row.request_header) as { sender_uri?: unknown } | null)?.sender_uri;
        return typeof uri === "string" ? uri : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
