/**
 * Where fan-out reads registry events and logs their notifications: the interface the notifier uses, and its
 * embedded SQLite implementation (one synchronous BEGIN IMMEDIATE transaction per batch, as before the port).
 */
import { beginImmediate, type Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import {
  type Candidate,
  cursorOfRow,
  type CursorRow,
  type EventHead,
  eventsConsumed,
  extendList,
  FANOUT_BATCH,
  FANOUT_ROWS,
  FANOUT_SQL as SQL,
  type FanOutCursor,
  type FanOutList,
  fanOutList,
  type FanOutOptions,
  type FanOutResult,
  filterFailed,
  filterOf,
  isEventOf,
  listRefresh,
  moveParams,
  needsPrevious,
  notificationOf,
  planBatch,
} from "./fanout.ts";
import { fanOutSubscriptions } from "./store.ts";
import { insertNotifications, type NewNotification } from "./notifications.ts";
import { matchesSnapshot } from "./filter_eval.ts";

/** Registry events after the fan-out cursor → notification log rows, the cursor moved with them. */
export interface FanOutStore {
  /**
   * Logs the notifications of up to `options.batch` events after the cursor and moves the cursor past them, in
   * one transaction. Exact with several fan-outs at once: each event is consumed by one of them, none skipped.
   * No event consumed: caught up, or (PostgreSQL) another instance holds the fan-out and is consuming them.
   */
  batch(options: FanOutOptions): Promise<FanOutResult>;
  /** The cursor: every event up to this id has its notifications logged. */
  cursor(): Promise<number>;
  /** When the oldest event not fanned out yet happened (ISO), or undefined when fan-out has caught up. */
  pendingSince(): Promise<string | undefined>;
}

/** Fan-out on the embedded SQLite database. */
export function sqliteFanOutStore(db: Db): FanOutStore {
  // The subscriptions as last read, kept for the batches before their horizon (FanOutList).
  const kept: { list?: FanOutList } = {};
  return {
    batch: (options) => Promise.try(() => sqliteFanOutBatch(db, kept, options)),
    cursor: () => Promise.try(() => fanOutCursor(db).event),
    pendingSince: () =>
      Promise.try(() => (stmt(db, SQL.pendingSince).get() as { created_at: string } | undefined)?.created_at),
  };
}

function fanOutCursor(db: Db): FanOutCursor {
  return cursorOfRow(stmt(db, SQL.cursor).get() as CursorRow);
}

function sqliteFanOutBatch(db: Db, kept: { list?: FanOutList }, options: FanOutOptions): FanOutResult {
  const { now, cache, log, stats } = options;
  const cursor = fanOutCursor(db);
  const newest = Number((stmt(db, SQL.newest).get() as { id: number }).id);
  if (newest <= cursor.event) return { events: 0, logged: 0 };
  // Read before the write lock (a whole read takes ~0.1-0.3 s at 30,000 subscriptions, which another isolate's
  // write would wait out), the newest event first: a subscription made or approved since starts after it. A list
  // kept from an earlier batch may name subscriptions ended since: only live ones are logged.
  const list = kept.list = currentList(db, kept.list, cursor.event, newest, options);
  beginImmediate(db);
  if (stats) stats.batches++;
  try {
    const heads = list.ids.size === 0 ? [] : stmt(db, SQL.heads).all(
      cursor.event,
      list.horizon,
      options.batch ?? FANOUT_BATCH,
    ) as unknown as EventHead[];
    const plan = planBatch(list, heads, options.pairs ?? FANOUT_ROWS, cursor);
    if (stats) stats.pairs += plan.candidates.length;
    const live = liveIds(db, plan.candidates);
    readSnapshots(db, plan.events);
    const rows: NewNotification[] = [];
    for (const c of plan.candidates) {
      if (!live.has(c.sub.id)) {
        list.stale = true;
        continue;
      }
      const previous = needsPrevious(c.sub, c.ev) ? previousSnapshot(db, c.ev) : undefined;
      if (!isEventOf(c.sub, c.ev, previous, log)) continue;
      const filter = filterOf(cache, c.sub, { at: c.ev.created_at, log });
      if (filter instanceof Error) continue;
      if (filter) {
        let ok: boolean;
        try {
          ok = matchesSnapshot(db, filter, c.ev);
        } catch (err) {
          ok = filterFailed(err, isTransientStorageError(err), c, log);
        }
        if (!ok) continue;
      }
      rows.push(notificationOf(c, now));
    }
    const logged = insertNotifications(db, rows, now);
    if (Number(stmt(db, SQL.move).run(...moveParams(cursor, plan.next)).changes) === 0) {
      db.exec("ROLLBACK");
      return { events: 0, logged: 0 };
    }
    db.exec("COMMIT");
    return { events: eventsConsumed(cursor, plan.next), logged };
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/**
 * The subscriptions fan-out considers for a batch after `cursor`, read after event `newest` was the newest: `kept`
 * as it is, extended, or read whole (listRefresh).
 */
function currentList(
  db: Db,
  kept: FanOutList | undefined,
  cursor: number,
  newest: number,
  options: FanOutOptions,
): FanOutList {
  const refresh = listRefresh(kept, cursor, options.now);
  if (refresh === "keep") return kept!;
  const subs = fanOutSubscriptions(db, refresh === "extend" ? kept!.horizon : undefined);
  if (options.stats) options.stats.subscriptionsRead += subs.length;
  return refresh === "extend" ? extendList(kept!, subs, newest) : fanOutList(subs, newest, options.now);
}

const LIVE = `SELECT id FROM subscriptions WHERE id IN (SELECT value FROM json_each(?))
       AND state IN ('active','error')`;

/** Which of the candidates' subscriptions are live now (not ended since the list was read). */
function liveIds(db: Db, candidates: Candidate[]): Set<number> {
  if (candidates.length === 0) return new Set();
  const ids = JSON.stringify([...new Set(candidates.map((c) => c.sub.id))]);
  return new Set((stmt(db, LIVE).all(ids) as Array<{ id: number }>).map((r) => Number(r.id)));
}

const SNAPSHOTS = `SELECT e.id, ${EVENT_SNAPSHOT} AS snapshot FROM registry_events e
       WHERE e.id IN (SELECT value FROM json_each(?))`;

/** Fills in the snapshots of `events` (heads read without them). */
function readSnapshots(db: Db, events: EventHead[]): void {
  if (events.length === 0) return;
  const rows = stmt(db, SNAPSHOTS).all(JSON.stringify(events.map((e) => e.id))) as Array<
    { id: number; snapshot: string }
  >;
  const byId = new Map(rows.map((r) => [Number(r.id), r.snapshot]));
  for (const ev of events) ev.snapshot = byId.get(ev.id)!;
}

export const PREVIOUS =
  `SELECT ${EVENT_SNAPSHOT} AS snapshot FROM registry_events e WHERE e.registrant_id = ? AND e.id < ?
       ORDER BY e.id DESC LIMIT 1`;

function previousSnapshot(db: Db, ev: EventHead): string | undefined {
  return (stmt(db, PREVIOUS).get(ev.registrant_id, ev.id) as { snapshot: string } | undefined)?.snapshot;
}

/** SQLite busy, locked, out of memory, I/O error or full: the same work may succeed when redone. */
function isTransientStorageError(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | undefined)?.errcode;
  return typeof code === "number" && [5, 6, 7, 10, 13].includes(code & 0xff);
}
