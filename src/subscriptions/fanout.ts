/**
 * Fan-out: registry events after the durable cursor become notification log rows for every matching
 * subscription, and the cursor moves, in one SQLite transaction. A crash before the commit redoes the batch;
 * after it, nothing is lost: the rows are pending until delivered.
 */
import type { Deps } from "../deps.ts";
import { beginImmediate, type Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import { type CompiledFilter, compileFilter, isChangeEvent, profileEventType } from "./rules.ts";
import { fanOutSubscriptions, type SubscriptionRow } from "./store.ts";
import { insertNotifications, type NewNotification } from "./notifications.ts";
import { cronExpression, dueAt } from "./frequency.ts";
import { matchesSnapshot, readSnapshot } from "./filter_eval.ts";
import { profileOf } from "../registries/index.ts";
import type { Registrant } from "../registry/model.ts";

/** A registry event as fan-out reads it. */
interface EventHead {
  id: number;
  registry: string;
  event_type: string;
  record_type: string;
  registrant_id: number;
  created_at: string;
  snapshot: string;
}

const BATCH = 500;

/** The fan-out cursor: every event up to this id has its notifications logged. */
export function fanOutCursor(db: Db): number {
  return Number(
    (stmt(db, "SELECT last_event_id AS id FROM notifier_cursor WHERE id = 1").get() as { id: number }).id,
  );
}

/** The newest registry event id (0 when none). */
export function newestEventId(db: Db): number {
  return Number(
    (stmt(db, "SELECT COALESCE(MAX(id), 0) AS id FROM registry_events").get() as { id: number }).id,
  );
}

/** Compiled filters per subscription and day (`age` depends on today), shared across batches. */
export type FilterCache = Map<string, CompiledFilter | undefined | Error>;

/**
 * Logs notifications for up to `batch` events after the cursor; returns how many events it consumed (0 when
 * caught up). Runs again until it returns 0 to drain.
 */
export function fanOutBatch(deps: Deps, cache: FilterCache = new Map(), batch = BATCH): number {
  const db = deps.db;
  const cursor = fanOutCursor(db);
  const newest = newestEventId(db);
  if (newest <= cursor) return 0;
  const subs = fanOutSubscriptions(db);
  const now = new Date(deps.clock.now()).toISOString();
  beginImmediate(db);
  try {
    const events = stmt(
      db,
      `SELECT e.id, e.registry, e.event_type, e.record_type, e.registrant_id, e.created_at,
       ${EVENT_SNAPSHOT} AS snapshot FROM registry_events e WHERE e.id > ? ORDER BY e.id LIMIT ?+0`,
    ).all(cursor, subs.length === 0 ? 1 : batch) as unknown as EventHead[];
    // With no subscription in scope, nothing can match: jump to the newest event.
    let last = subs.length === 0 ? newest : cursor;
    const rows: NewNotification[] = [];
    if (subs.length > 0) {
      const crons = subs.map((sub) => cronExpression(sub.frequency));
      for (const ev of events) {
        for (let i = 0; i < subs.length; i++) {
          const sub = subs[i];
          if (inScope(sub, ev) && isEventOf(deps, sub, ev) && matches(deps, cache, sub, ev, now)) {
            const cron = crons[i];
            rows.push({
              subscriptionId: sub.id,
              eventId: ev.id,
              // A registry event type (crvs `Death`) is notified as the subscription asked for it.
              eventType: sub.reg_event_type,
              recordType: ev.record_type,
              // With a cron frequency the event waits for the cron's next run after it happened (a fan-out
              // that runs late, e.g. after a restart, finds that time passed and sends at once).
              dueAt: cron ? dueAt(cron, ev.created_at, sub.end_time) : now,
            });
          }
        }
        last = ev.id;
      }
    }
    const logged = insertNotifications(db, rows, now);
    // Conditional on the cursor not having moved: a concurrent fan-out makes this one roll back.
    const moved = stmt(db, "UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1 AND last_event_id = ?")
      .run(last, cursor);
    if (Number(moved.changes) === 0) {
      db.exec("ROLLBACK");
      return 0;
    }
    db.exec("COMMIT");
    if (logged > 0) {
      deps.metrics.inc("dci_notifications_logged_total", "Notifications logged by fan-out", {}, logged);
    }
    return Math.max(1, last - cursor);
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

function inScope(sub: SubscriptionRow, ev: EventHead): boolean {
  if (ev.id <= sub.from_event_id) return false;
  if (sub.registry !== ev.registry || sub.record_type !== ev.record_type) return false;
  if (isChangeEvent(sub.reg_event_type) && sub.reg_event_type !== ev.event_type) return false;
  if (sub.start_time && ev.created_at < sub.start_time) return false;
  if (sub.end_time && ev.created_at > sub.end_time) return false;
  return true;
}

/**
 * Whether the event is the subscription's event type: a change event by its type (inScope), a registry event
 * type (crvs `Death`) by its profile's `matches` on the record after the change and as it was before (the
 * registrant's previous event's snapshot).
 */
function isEventOf(deps: Deps, sub: SubscriptionRow, ev: EventHead): boolean {
  if (isChangeEvent(sub.reg_event_type)) return true;
  const type = profileEventType(profileOf(sub.registry), sub.reg_event_type);
  if (!type) return false;
  const after = readSnapshot(ev.snapshot).registrant;
  if (!after) return false;
  let before: Registrant | undefined;
  if (ev.event_type !== "registration") {
    const prev = stmt(
      deps.db,
      `SELECT ${EVENT_SNAPSHOT} AS snapshot FROM registry_events e WHERE e.registrant_id = ? AND e.id < ?
       ORDER BY e.id DESC LIMIT 1`,
    ).get(ev.registrant_id, ev.id) as { snapshot: string } | undefined;
    before = prev ? readSnapshot(prev.snapshot).registrant : undefined;
  }
  try {
    return type.matches(ev.event_type as "registration" | "update" | "delete", after, before);
  } catch (err) {
    deps.log.error("registry event type failed on an event; the event is not notified to it", {
      subscription: sub.code,
      event_id: ev.id,
      err,
    });
    return false;
  }
}

/** Evaluates the subscription's filter against the record as it was at the event. */
function matches(deps: Deps, cache: FilterCache, sub: SubscriptionRow, ev: EventHead, now: string): boolean {
  if (!sub.filter) return true;
  const today = now.slice(0, 10);
  const key = `${sub.id}|${today}`;
  if (!cache.has(key)) {
    try {
      cache.set(key, compileFilter(sub.filter_type, JSON.parse(sub.filter), sub.record_type, today));
    } catch (err) {
      // Validated at subscribe time; a filter the compiler no longer reads matches nothing (and says so).
      deps.log.warn("subscription filter no longer compiles", { subscription: sub.code, err });
      cache.set(key, err as Error);
    }
  }
  const compiled = cache.get(key);
  if (compiled instanceof Error) return false;
  if (!compiled) return true;
  try {
    return matchesSnapshot(deps.db, compiled, ev);
  } catch (err) {
    // A passing storage fault rolls the batch back to be redone. Anything else is a poisoned event or filter:
    // were it thrown, the cursor would never move and no subscription of any sender would be notified again.
    if (isTransientStorageError(err)) throw err;
    deps.log.error("subscription filter failed on an event; the event is not notified to it", {
      subscription: sub.code,
      event_id: ev.id,
      err,
    });
    return false;
  }
}

/** SQLite busy, locked, out of memory, I/O error or full: the same work may succeed when redone. */
function isTransientStorageError(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | undefined)?.errcode;
  return typeof code === "number" && [5, 6, 7, 10, 13].includes(code & 0xff);
}

/** Logs notifications until caught up; returns the number of events consumed. */
export function fanOutAll(deps: Deps, cache: FilterCache = new Map()): number {
  let total = 0;
  for (let i = 0; i < 10_000; i++) {
    const n = fanOutBatch(deps, cache);
    if (n === 0) break;
    total += n;
  }
  return total;
}
