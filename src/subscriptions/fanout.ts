/**
 * Fan-out: registry events after the durable cursor become notification log rows for every matching
 * subscription, and the cursor moves, in one transaction (`deps.storage.fanOut`: src/subscriptions/fanout_store.ts
 * on SQLite, pg_fanout_store.ts on PostgreSQL). A crash before the commit redoes the batch; after it, nothing is
 * lost: the rows are pending until delivered. What decides a notification (scope, event type, filter compile, due
 * time) is here, shared by both backends; only reading the events and evaluating a filter's SQL differ.
 */
import type { Deps } from "../deps.ts";
import type { Logger } from "../obs/log.ts";
import type { Dialect } from "../registry/query_dialect.ts";
import { type CompiledFilter, compileFilter, isChangeEvent, profileEventType } from "./rules.ts";
import type { FanOutSubscription } from "./store.ts";
import type { NewNotification } from "./notifications.ts";
import { cronExpression, dueAt } from "./frequency.ts";
import { readSnapshot } from "./filter_eval.ts";
import { profileOf } from "../registries/index.ts";
import type { Registrant } from "../registry/model.ts";

/** A registry event as fan-out reads it. */
export interface EventHead {
  id: number;
  registry: string;
  event_type: string;
  record_type: string;
  registrant_id: number;
  created_at: string;
  snapshot: string;
}

/** Events per batch (one transaction) at most. */
export const FANOUT_BATCH = 500;

/**
 * (subscription, event) pairs in scope a batch takes on SQLite at most (events are added while they fit; an event
 * with more is spread over batches, planBatch): each is a filter evaluation and at most one row, and a batch is one
 * synchronous write (~70 µs a row with the log's indexes), so 1,000 hold the event loop ~70 ms; 500 events × 20
 * subscriptions held it ~0.7 s. Pairs, not events × subscriptions: an event no subscription's scope covers costs
 * none.
 */
export const FANOUT_ROWS = 1000;

/**
 * The same bound on PostgreSQL, where a batch does not hold the event loop: the 500 events of a batch as before
 * with up to 20 subscriptions an event, fewer with more (one insert, one filter statement per subscription).
 */
export const PG_FANOUT_ROWS = 10_000;

/** The last event whose notifications are all logged (a scalar, for other statements to compare with). */
const LAST_EVENT = "SELECT last_event_id FROM notifier_cursor WHERE id = 1";

/** The statements both backends share word for word. */
export const FANOUT_SQL = {
  cursor: `SELECT last_event_id AS id, split_event_id AS split, split_subscription_id AS sub
       FROM notifier_cursor WHERE id = 1`,
  lastEvent: LAST_EVENT,
  newest: "SELECT COALESCE(MAX(id), 0) AS id FROM registry_events",
  // The oldest event whose notifications are not logged yet (the first after the cursor).
  pendingSince: `SELECT created_at FROM registry_events WHERE id > (${LAST_EVENT}) ORDER BY id LIMIT 1`,
  // Without their snapshots: those are read for the events a batch takes that some subscription's scope covers.
  heads: `SELECT e.id, e.registry, e.event_type, e.record_type, e.registrant_id, e.created_at
       FROM registry_events e WHERE e.id > ? AND e.id <= ? ORDER BY e.id LIMIT ?+0`,
  // Conditional on the cursor not having moved: a concurrent fan-out makes this one roll back.
  move: `UPDATE notifier_cursor SET last_event_id = ?, split_event_id = ?, split_subscription_id = ?
       WHERE id = 1 AND last_event_id = ? AND split_event_id = ? AND split_subscription_id = ?`,
} as const;

/**
 * Where fan-out stands: every event up to `event` has its notifications logged, and event `splitEvent` (the next
 * one, in scope of more subscriptions than one batch takes; 0: none) for the subscriptions up to id `subscription`.
 */
export interface FanOutCursor {
  event: number;
  splitEvent: number;
  subscription: number;
}

/** The cursor before any event. */
const START: FanOutCursor = { event: 0, splitEvent: 0, subscription: 0 };

/** A row of FANOUT_SQL.cursor (numbers as the driver gives them). */
export type CursorRow = { id: number | string; split: number | string; sub: number | string };

/** The cursor as FANOUT_SQL.cursor reads it. */
export function cursorOfRow(row: CursorRow): FanOutCursor {
  return { event: Number(row.id), splitEvent: Number(row.split), subscription: Number(row.sub) };
}

/**
 * Compiled filters per subscription and event day (`age` is counted at the event's day), shared across batches.
 */
export type FilterCache = Map<string, CompiledFilter | undefined | Error>;

/** The latest event day each cache has compiled filters for. */
const cacheDays = new WeakMap<FilterCache, string>();

/** What batches did, summed over the batches given the same object (for measurements and tests). */
export interface FanOutStats {
  /** Write transactions begun. */
  batches: number;
  /**
   * Subscription rows read: the whole list at first (and when read again whole, FanOutList), then only those made
   * or approved since its horizon once the cursor reaches it.
   */
  subscriptionsRead: number;
  /** (subscription, event) pairs in scope taken: filter evaluations and rows at most. */
  pairs: number;
}

/** What a fan-out batch is given: the time, the notifier's filter cache, where to log, the batch size, stats. */
export interface FanOutOptions {
  now: string;
  cache: FilterCache;
  log: Logger;
  batch?: number;
  /** (subscription, event) pairs in scope a batch takes at most (FANOUT_ROWS, PG_FANOUT_ROWS by default). */
  pairs?: number;
  stats?: FanOutStats;
}

/** What a batch did: events consumed (0 when caught up or another fan-out moved the cursor), rows logged. */
export interface FanOutResult {
  events: number;
  logged: number;
}

/** A subscription in scope of an event, with its cron (if any), in the order the rows are logged. */
export interface Candidate {
  sub: FanOutSubscription;
  ev: EventHead;
  cron: string | undefined;
}

/**
 * The subscriptions fan-out considers (SUBSCRIPTION_SQL.fanOut), read with the newest event then (`horizon`): one
 * made or approved since starts after that event (its from_event_id), so the list serves every batch of events up
 * to it. Once the cursor reaches the horizon, the list is extended (extendList) with the subscriptions made or
 * approved since (SUBSCRIPTION_SQL.fanOutSince: from_event_id at or past the horizon), not read again whole: at
 * 30,000 subscriptions a whole read took ~0.5 s of the event loop, on SQLite under the write lock, at every batch
 * after new events. One ended since stays listed: the stores log rows only for live ones, and one found ended marks
 * the list `stale`, to be read again whole (as it is FANOUT_LIST_MAX_AGE_MS after its whole read, which drops
 * those ended without a row to log meanwhile).
 */
export interface FanOutList {
  horizon: number;
  /** The ids listed. */
  ids: Set<number>;
  /**
   * By `registry|record_type|event_type` (scopeKey), in id order, each with its cron expression (if any): a
   * subscription to a change event under that event alone, one to a registry's own event type (crvs `Death`,
   * decided per event by isEventOf) under all three. An event reads only its own list: keyed by record type alone,
   * a batch of 500 registrations checked every one of 30,000 `update` subscriptions for each (~135 ms a batch,
   * under SQLite's write lock), to take no pair.
   */
  byScope: Map<string, Array<{ sub: FanOutSubscription; cron: string | undefined }>>;
  /** When it was read whole (epoch ms, of the batch's `now`). */
  readAt: number;
  /** Set when a listed subscription was found ended: the next batch reads the list again whole. */
  stale: boolean;
}

/** The registry events' types (registry_events.event_type). */
const CHANGE_EVENTS = ["registration", "update", "delete"] as const;

/** The key of FanOutList.byScope that events of `registry`, `recordType` and `eventType` read. */
function scopeKey(registry: string, recordType: string, eventType: string): string {
  return `${registry}|${recordType}|${eventType}`;
}

/** How long a list serves after its whole read before it is read again whole (its extensions add, never drop). */
export const FANOUT_LIST_MAX_AGE_MS = 10 * 60_000;

/** `subs` (in id order), read with event `horizon` the newest at `now` (ISO), as a FanOutList. */
export function fanOutList(subs: FanOutSubscription[], horizon: number, now: string): FanOutList {
  const list: FanOutList = {
    horizon,
    ids: new Set(),
    byScope: new Map(),
    readAt: Date.parse(now),
    stale: false,
  };
  return extendList(list, subs, horizon);
}

/**
 * `list` with `subs` (read with event `horizon` the newest: those made or approved since its horizon, in id order)
 * added, each scope's subscriptions kept in id order, and its horizon moved to `horizon`.
 */
export function extendList(list: FanOutList, subs: FanOutSubscription[], horizon: number): FanOutList {
  const touched = new Set<Array<{ sub: FanOutSubscription; cron: string | undefined }>>();
  for (const sub of subs) {
    if (list.ids.has(sub.id)) continue;
    list.ids.add(sub.id);
    const entry = { sub, cron: cronExpression(sub.frequency) };
    for (const eventType of isChangeEvent(sub.reg_event_type) ? [sub.reg_event_type] : CHANGE_EVENTS) {
      const key = scopeKey(sub.registry, sub.record_type, eventType);
      const same = list.byScope.get(key) ?? [];
      if (same.length > 0 && same[same.length - 1].sub.id > sub.id) touched.add(same);
      same.push(entry);
      list.byScope.set(key, same);
    }
  }
  // An approved subscription may be older than those listed after it.
  for (const same of touched) same.sort((a, b) => a.sub.id - b.sub.id);
  list.horizon = horizon;
  return list;
}

/**
 * What a batch after `cursor` at `now` does with the list kept from earlier batches: `keep` it (the cursor is
 * before its horizon), `extend` it (extendList), or `read` it whole (none kept, stale, or too old).
 */
export function listRefresh(
  list: FanOutList | undefined,
  cursor: number,
  now: string,
): "keep" | "extend" | "read" {
  if (list === undefined || list.stale || Date.parse(now) - list.readAt >= FANOUT_LIST_MAX_AGE_MS) {
    return "read";
  }
  return cursor < list.horizon ? "keep" : "extend";
}

/** A batch: its pairs in scope in log order, the events they name (whose snapshots are read), the cursor's next place. */
export interface BatchPlan {
  candidates: Candidate[];
  events: EventHead[];
  next: FanOutCursor;
}

/**
 * The batch over `heads` (events after `cursor.event` up to the list's horizon, in id order): events in order while
 * their pairs in scope (event by event, subscriptions by id within one) stay within `maxPairs`. A split event's
 * subscriptions (`cursor.splitEvent`) start after `cursor.subscription`, and when the first event has more than
 * `maxPairs` left, the batch takes the first `maxPairs` of them and the cursor stays before the event, naming it and
 * the last subscription taken: one event matching very many subscriptions is spread over batches like many events.
 * Without any event to read (no subscription at all), the cursor goes to the horizon.
 */
export function planBatch(
  list: FanOutList,
  heads: EventHead[],
  maxPairs: number,
  cursor: FanOutCursor = START,
): BatchPlan {
  const plan: BatchPlan = { candidates: [], events: [], next: { ...START, event: list.horizon } };
  for (let i = 0; i < heads.length; i++) {
    const ev = heads[i];
    const after = ev.id === cursor.splitEvent ? cursor.subscription : 0;
    const subs = (list.byScope.get(scopeKey(ev.registry, ev.record_type, ev.event_type)) ?? []).filter((s) =>
      s.sub.id > after && inScope(s.sub, ev)
    );
    if (i > 0 && plan.candidates.length + subs.length > maxPairs) break;
    const taken = subs.length > maxPairs ? subs.slice(0, maxPairs) : subs;
    for (const { sub, cron } of taken) plan.candidates.push({ sub, ev, cron });
    if (taken.length > 0) plan.events.push(ev);
    if (taken.length < subs.length) {
      plan.next = { event: cursor.event, splitEvent: ev.id, subscription: taken[taken.length - 1].sub.id };
      break;
    }
    plan.next = { ...START, event: ev.id };
  }
  return plan;
}

/** Events a batch consumed, for its caller's loop: at least 1 when the cursor moved, within an event too. */
export function eventsConsumed(cursor: FanOutCursor, next: FanOutCursor): number {
  return Math.max(1, next.event - cursor.event);
}

/** FANOUT_SQL.move's parameters, from `cursor` to `next`. */
export function moveParams(cursor: FanOutCursor, next: FanOutCursor): number[] {
  return [
    next.event,
    next.splitEvent,
    next.subscription,
    cursor.event,
    cursor.splitEvent,
    cursor.subscription,
  ];
}

function inScope(sub: FanOutSubscription, ev: EventHead): boolean {
  if (ev.id <= sub.from_event_id) return false;
  if (sub.registry !== ev.registry || sub.record_type !== ev.record_type) return false;
  if (isChangeEvent(sub.reg_event_type) && sub.reg_event_type !== ev.event_type) return false;
  if (sub.start_time && ev.created_at < sub.start_time) return false;
  if (sub.end_time && ev.created_at > sub.end_time) return false;
  return true;
}

/** The notification row of a matching candidate. */
export function notificationOf(c: Candidate, now: string): NewNotification {
  return {
    subscriptionId: c.sub.id,
    eventId: c.ev.id,
    // A registry event type (crvs `Death`) is notified as the subscription asked for it.
    eventType: c.sub.reg_event_type,
    recordType: c.ev.record_type,
    // With a cron frequency the event waits for the cron's next run after it happened (a fan-out that runs late,
    // e.g. after a restart, finds that time passed and sends at once).
    dueAt: c.cron ? dueAt(c.cron, c.ev.created_at, c.sub.end_time) : now,
    held: c.cron !== undefined,
  };
}

/** Whether deciding `sub`'s event type on `ev` reads the snapshot of the registrant's previous event. */
export function needsPrevious(sub: FanOutSubscription, ev: EventHead): boolean {
  return !isChangeEvent(sub.reg_event_type) && ev.event_type !== "registration" &&
    profileEventType(profileOf(sub.registry), sub.reg_event_type) !== undefined;
}

/**
 * Whether the event is the subscription's event type: a change event by its type (in scope; never on a registry
 * without change events), a registry event type (crvs `Death`) by its profile's `matches` on the record after the
 * change and as it was before (`previous`: the snapshot of the registrant's previous event, read when
 * `needsPrevious`).
 */
export function isEventOf(
  sub: FanOutSubscription,
  ev: EventHead,
  previous: string | undefined,
  log: Logger,
): boolean {
  // A registry whose spec names no change events (ibr) refuses them at subscribe; one made before that keeps
  // its row but is sent nothing.
  if (isChangeEvent(sub.reg_event_type)) return profileOf(sub.registry)?.changeEvents !== false;
  const type = profileEventType(profileOf(sub.registry), sub.reg_event_type);
  if (!type) return false;
  const after = readSnapshot(ev.snapshot).registrant;
  if (!after) return false;
  const before: Registrant | undefined = previous === undefined
    ? undefined
    : readSnapshot(previous).registrant;
  try {
    return type.matches(ev.event_type as "registration" | "update" | "delete", after, before);
  } catch (err) {
    log.error("registry event type failed on an event; the event is not notified to it", {
      subscription: sub.code,
      event_id: ev.id,
      err,
    });
    return false;
  }
}

/**
 * The subscription's compiled filter for an event at `at` in `dialect` (cached; a cache serves one backend), an
 * `age` in it counted at the event's UTC day, as a search made then would have counted it (an event fanned out
 * after midnight, or after a restart, is judged as the record was at the event: filter_eval.ts): undefined when
 * it has none (every event matches), an Error when it no longer compiles (it matches nothing, and says so once a
 * day).
 */
export function filterOf(
  cache: FilterCache,
  sub: FanOutSubscription,
  options: { at: string; log: Logger; dialect?: Dialect },
): CompiledFilter | undefined | Error {
  const { at, log, dialect } = options;
  if (!sub.filter) return undefined;
  const day = at.slice(0, 10);
  // Events come in id order, their days rising (an import batch's stamped a little earlier): a later day drops
  // the filters compiled for the days before it (ended subscriptions' with them).
  const latest = cacheDays.get(cache);
  if (latest === undefined || day > latest) {
    cache.clear();
    cacheDays.set(cache, day);
  }
  const key = `${sub.id}|${day}`;
  if (!cache.has(key)) {
    try {
      cache.set(key, compileFilter(sub.filter_type, JSON.parse(sub.filter), sub.record_type, day, dialect));
    } catch (err) {
      // Validated at subscribe time; a filter the compiler no longer reads matches nothing (and says so).
      log.warn("subscription filter no longer compiles", { subscription: sub.code, err });
      cache.set(key, err as Error);
    }
  }
  return cache.get(key);
}

/**
 * A filter's evaluation failed on an event. A passing storage fault (`transient`) is thrown: the batch is redone.
 * Anything else is a poisoned event or filter: were it thrown, the cursor would never move and no subscription of
 * any sender would be notified again; so it is logged and the event is not notified to that subscription.
 */
export function filterFailed(err: unknown, transient: boolean, c: Candidate, log: Logger): false {
  if (transient) throw err;
  log.error("subscription filter failed on an event; the event is not notified to it", {
    subscription: c.sub.code,
    event_id: c.ev.id,
    err,
  });
  return false;
}

/**
 * Logs notifications for up to one batch of events after the cursor, on the storage's backend; returns how many
 * events it consumed (0 when caught up). Runs again until it returns 0 to drain.
 */
export async function fanOutBatch(
  deps: Deps,
  cache: FilterCache = new Map(),
  batch?: number,
): Promise<number> {
  const now = new Date(deps.clock.now()).toISOString();
  const r = await deps.storage.fanOut.batch({ now, cache, log: deps.log, batch });
  if (r.logged > 0) {
    deps.metrics.inc("dci_notifications_logged_total", "Notifications logged by fan-out", {}, r.logged);
  }
  return r.events;
}

/**
 * Logs notifications until caught up (or, on PostgreSQL, until another instance's fan-out has the events);
 * returns the number of events consumed.
 */
export async function fanOutAll(deps: Deps, cache: FilterCache = new Map()): Promise<number> {
  let total = 0;
  for (let i = 0; i < 10_000; i++) {
    const n = await fanOutBatch(deps, cache);
    if (n === 0) break;
    total += n;
  }
  return total;
}
