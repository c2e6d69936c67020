/**
 * Retention of registry events (DCI_EVENT_RETENTION_DAYS): every change of a record is a row of
 * `registry_events` holding the record as it became, so the log grows with every update. An event written
 * before the cutoff is deleted once a later event of the same record makes it needless to everything that
 * still reads events:
 * - fan-out reads the events after its cursor, and for each the record's event before it (a household member
 *   added, a vital event, an enrolment change compare the record before and after): every event from the bound
 *   on stays, and so does each record's newest event before the bound;
 * - a pending notification reads its event when it is sent, and a failed one when an operator reopens it: the
 *   bound is at most the oldest event such a notification names.
 * "Written before the cutoff" is read in id order (the order events are written): the events before the first
 * one written at or after the cutoff. Both backends run the same statements; each delete takes at most
 * PURGE_CHUNK events of a range of records on the `(registrant_id, id)` index (migration 0039), so a run reads
 * that index about once, in short writes with the event loop free between them.
 */

/**
 * How a backend runs a statement (`?` placeholders): its first row; or a DELETE whose last parameter is the chunk
 * size, again until it deletes fewer (deleteInChunks, pgDeleteInChunks), and how many rows it deleted.
 */
export interface EventPurgeSql {
  one(sql: string, args: Array<string | number>): Promise<Record<string, unknown> | undefined>;
  deleteInChunks(sql: string, args: Array<string | number>, chunk: number): Promise<number>;
}

/** Records (registrant ids) one range of deletes covers. */
export const PURGE_RANGE = 5_000;

/** Events one delete takes at most (a range with more is deleted in several writes). */
export const PURGE_CHUNK = 2_000;

/** The statements both backends share word for word. */
export const EVENT_RETENTION_SQL = {
  // The first event something may still read: after the fan-out cursor, or named by a pending or failed
  // notification (a subscription's first pending row names its oldest: rows are logged in event order).
  keepFrom: `SELECT MIN(b) AS id FROM (
      SELECT last_event_id + 1 AS b FROM notifier_cursor WHERE id = 1
      UNION ALL SELECT MIN(event_id) AS b FROM notifications WHERE status = 'failed'
      UNION ALL SELECT (SELECT n.event_id FROM notifications n WHERE n.subscription_id = s.id
        AND n.status = 'pending' ORDER BY n.id LIMIT 1) AS b FROM subscriptions s) x`,
  oldest: "SELECT MIN(id) AS id FROM registry_events",
  firstRegistrant: "SELECT MIN(registrant_id) AS id FROM registry_events",
  lastRegistrant: "SELECT MAX(registrant_id) AS id FROM registry_events",
  firstFrom: "SELECT id, created_at FROM registry_events WHERE id >= ? ORDER BY id LIMIT 1",
  // At most ? events of records [?, ?) before id ? that a later event of the same record before id ? makes
  // needless.
  purge: `DELETE FROM registry_events WHERE id IN (SELECT e.id FROM registry_events e
      WHERE e.registrant_id >= ? AND e.registrant_id < ? AND e.id < ?
        AND EXISTS (SELECT 1 FROM registry_events n
          WHERE n.registrant_id = e.registrant_id AND n.id > e.id AND n.id < ?) LIMIT ?+0)`,
} as const;

const idOf = (row: Record<string, unknown> | undefined): number | undefined =>
  row?.id === null || row?.id === undefined ? undefined : Number(row.id);

/** Deletes the events written before `cutoff` (ISO time) that nothing reads any more; how many. */
export async function purgeOldEvents(db: EventPurgeSql, cutoff: string): Promise<number> {
  const keepFrom = idOf(await db.one(EVENT_RETENTION_SQL.keepFrom, []));
  const oldest = idOf(await db.one(EVENT_RETENTION_SQL.oldest, []));
  if (keepFrom === undefined || oldest === undefined || oldest >= keepFrom) return 0;
  const before = await firstWrittenFrom(db, oldest, keepFrom, cutoff);
  if (before <= oldest) return 0;
  const first = idOf(await db.one(EVENT_RETENTION_SQL.firstRegistrant, [])) ?? 0;
  const last = idOf(await db.one(EVENT_RETENTION_SQL.lastRegistrant, [])) ?? -1;
  let deleted = 0;
  for (let from = first; from <= last; from += PURGE_RANGE) {
    const args = [from, from + PURGE_RANGE, before, keepFrom];
    deleted += await db.deleteInChunks(EVENT_RETENTION_SQL.purge, args, PURGE_CHUNK);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return deleted;
}

/**
 * The id of the first event in [lo, hi) written at or after `cutoff`, or `hi` when none is (a binary search on
 * the primary key: events are written in id order, their times with them).
 */
async function firstWrittenFrom(db: EventPurgeSql, lo: number, hi: number, cutoff: string): Promise<number> {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const row = await db.one(EVENT_RETENTION_SQL.firstFrom, [mid]);
    const id = idOf(row);
    if (id === undefined || id >= hi || String(row!.created_at) >= cutoff) hi = mid;
    else lo = id + 1;
  }
  return lo;
}
