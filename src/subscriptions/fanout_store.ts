/**
 * Where fan-out reads registry events and logs their notifications: the interface the notifier uses, and its
 * embedded SQLite implementation (one synchronous BEGIN IMMEDIATE transaction per batch, as before the port).
 */
import { beginImmediate, type Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import {
  candidates,
  type EventHead,
  eventsPerBatch,
  FANOUT_SQL as SQL,
  type FanOutOptions,
  type FanOutResult,
  filterFailed,
  filterOf,
  isEventOf,
  needsPrevious,
  notificationOf,
} from "./fanout.ts";
import { fanOutSubscriptions } from "./store.ts";
import { insertNotifications, type NewNotification } from "./notifications.ts";
import { matchesSnapshot } from "./filter_eval.ts";

/** Registry events after the fan-out cursor → notification log rows, the cursor moved with them. */
export interface FanOutStore {
  /**
   * Logs the notifications of up to `options.batch` events after the cursor and moves the cursor past them, in
   * one transaction. Exact with several fan-outs at once: each event is consumed by one of them, none skipped.
   */
  batch(options: FanOutOptions): Promise<FanOutResult>;
  /** The cursor: every event up to this id has its notifications logged. */
  cursor(): Promise<number>;
  /** When the oldest event not fanned out yet happened (ISO), or undefined when fan-out has caught up. */
  pendingSince(): Promise<string | undefined>;
}

/** Fan-out on the embedded SQLite database. */
export function sqliteFanOutStore(db: Db): FanOutStore {
  return {
    batch: (options) => Promise.try(() => sqliteFanOutBatch(db, options)),
    cursor: () => Promise.try(() => fanOutCursor(db)),
    pendingSince: () =>
      Promise.try(() => (stmt(db, SQL.pendingSince).get() as { created_at: string } | undefined)?.created_at),
  };
}

function fanOutCursor(db: Db): number {
  return Number((stmt(db, SQL.cursor).get() as { id: number }).id);
}

function sqliteFanOutBatch(db: Db, options: FanOutOptions): FanOutResult {
  const { now, cache, log } = options;
  const cursor = fanOutCursor(db);
  const newest = Number((stmt(db, SQL.newest).get() as { id: number }).id);
  if (newest <= cursor) return { events: 0, logged: 0 };
  beginImmediate(db);
  try {
    // Read under the write lock, with the events: a subscription created by another isolate in between would
    // otherwise miss the events of this batch after its starting point.
    const subs = fanOutSubscriptions(db);
    const events = stmt(db, SQL.events).all(
      cursor,
      subs.length === 0 ? 1 : eventsPerBatch(subs.length, options.batch),
    ) as unknown as EventHead[];
    // With no subscription in scope, nothing can match: jump to the newest event.
    const last = subs.length === 0 ? newest : events.at(-1)?.id ?? cursor;
    const rows: NewNotification[] = [];
    for (const c of candidates(subs, events)) {
      const previous = needsPrevious(c.sub, c.ev) ? previousSnapshot(db, c.ev) : undefined;
      if (!isEventOf(c.sub, c.ev, previous, log)) continue;
      const filter = filterOf(cache, c.sub, options);
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
    if (Number(stmt(db, SQL.move).run(last, cursor).changes) === 0) {
      db.exec("ROLLBACK");
      return { events: 0, logged: 0 };
    }
    db.exec("COMMIT");
    return { events: Math.max(1, last - cursor), logged };
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

const PREVIOUS =
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
