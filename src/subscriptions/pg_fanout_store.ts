/**
 * Fan-out on PostgreSQL, exact with several instances. A batch runs on one connection under the fan-out lock, so
 * the instances take turns. Events are read, and filters evaluated, outside any transaction (a filter that fails
 * on an event must not abort the batch's transaction); then one short transaction moves the cursor conditionally
 * (FANOUT_SQL.move) and logs the rows: should two fan-outs ever read the same cursor, the second changes nothing,
 * writes nothing, and reads again. No event is skipped: event writers commit in id order (src/registry/
 * pg_event_lock.ts), so the events one statement reads after the cursor are every event up to the last it reads.
 * The subscriptions were read before that transaction (and kept between batches, FanOutList): it logs rows only
 * for those still live, locked until it commits, so a subscription ended in between (unsubscribe, cancel, expiry,
 * sender delete) gets no new pending rows, and one ending meanwhile waits for the batch's commit.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import {
  pgAll,
  pgOne,
  pgPlaceholders,
  type PgQueryable,
  pgRun,
  pgSessionLock,
  pgText,
} from "../db/pg/query.ts";
import {
  type Candidate,
  cursorOfRow,
  type CursorRow,
  type EventHead,
  eventsConsumed,
  extendList,
  FANOUT_BATCH,
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
  PG_FANOUT_ROWS,
  planBatch,
} from "./fanout.ts";
import { type FanOutSubscription, SUBSCRIPTION_SQL } from "./store.ts";
import type { NewNotification } from "./notifications.ts";
import { pgInsertNotifications } from "./pg_notifications.ts";
import { FILTER_COLUMNS, type FilterValue, snapshotValues } from "./filter_eval.ts";
import type { CompiledFilter } from "./rules.ts";
import type { FanOutStore } from "./fanout_store.ts";

/** The registrants columns' types (src/db/pg/migrations), so each bound value is typed as the table's column. */
const COLUMN_TYPES: Record<(typeof FILTER_COLUMNS)[number], string> = {
  id: "bigint",
  record_type: "text",
  group_id: "bigint",
  given_name: "text",
  second_name: "text",
  surname: "text",
  sex: "text",
  birth_date: "text",
  death_date: "text",
  locality: "text",
  region: "text",
  postal_code: "text",
  country: "text",
  registration_date: "text",
  last_updated: "text",
  group_type: "text",
  group_size: "bigint",
  poverty_score: "double precision",
  vals: "jsonb",
  contacts: "jsonb",
};

/**
 * The records a filter is evaluated on, as table `r`: one row per event (`item_`, its place in the list), each
 * column bound as one array typed as the table's column.
 */
const ROWS = `WITH r0 AS (SELECT * FROM unnest(${
  FILTER_COLUMNS.map((c) => `?::${COLUMN_TYPES[c]}[]`).join(", ")
}) WITH ORDINALITY AS t(${FILTER_COLUMNS.join(", ")}, item_))`;

const GROUPS = "SELECT id, group_id FROM registrants WHERE id = ANY($1::bigint[])";

/** The live ones of subscriptions $1. */
const LIVE_IDS = "SELECT id FROM subscriptions WHERE id = ANY($1::bigint[]) AND state IN ('active','error')";

const SNAPSHOTS =
  `SELECT e.id, ${EVENT_SNAPSHOT} AS snapshot FROM registry_events e WHERE e.id = ANY($1::bigint[])`;

// Locked in id order until the batch commits: ending one (SUBSCRIPTION_SQL.end) waits for the batch's rows, which
// are then pending before it ended like its others; or the batch waits for the ending and finds it ended.
const LIVE = `${LIVE_IDS} ORDER BY id FOR SHARE`;

/** How long LIVE waits for a lock (ms): well under PostgreSQL's deadlock_timeout (1 s by default). */
const LIVE_WAIT_MS = 200;

/** SQLSTATE of a lock not had within lock_timeout. */
const LOCK_NOT_AVAILABLE = "55P03";

const PREVIOUS = `SELECT x.id, (SELECT ${EVENT_SNAPSHOT} FROM registry_events e
    WHERE e.registrant_id = x.registrant_id AND e.id < x.id ORDER BY e.id DESC LIMIT 1) AS snapshot
  FROM unnest($1::bigint[], $2::bigint[]) AS x(id, registrant_id)`;

/** The advisory lock fan-outs take turns under ("dcif" in ASCII). */
export const FANOUT_LOCK_KEY = 0x64636966;

/** A batch that found the cursor moved by another fan-out after it read it (or its subscriptions locked too long). */
const RACED = Symbol("raced");

/** How often a batch that lost the cursor to another fan-out (or a LIVE lock) starts over before it leaves the rest. */
const RETRIES = 5;

/** Fan-out on the PostgreSQL database behind `pool`. */
export function pgFanOutStore(pool: PgPool): FanOutStore {
  // The subscriptions as last read, kept for the batches before their horizon (FanOutList).
  const kept: { list?: FanOutList } = {};
  return {
    cursor: async () => (await cursorOf(pool)).event,
    pendingSince: async () =>
      (await pgOne<{ created_at: string }>(pool, pgText(SQL.pendingSince)))?.created_at,
    batch: async (options) => {
      const turn = await underFanOutLock(pool, async (client) => {
        for (let i = 0; i < RETRIES; i++) {
          const r = await attempt(client, kept, options);
          if (r !== RACED) return r;
        }
        return { events: 0, logged: 0 };
      });
      return turn.ran ? turn.value : { events: 0, logged: 0 };
    },
  };
}

async function cursorOf(db: PgQueryable): Promise<FanOutCursor> {
  return cursorOfRow((await pgOne<CursorRow>(db, pgText(SQL.cursor)))!);
}

/**
 * Runs `fn` on one connection holding the fan-out lock (session level, so `fn` may run several transactions and
 * statements outside any), taken by trying: one instance fans out at a time, and the next one starts from the
 * cursor the last one left instead of doing its work again. An instance that finds it held does no fan-out this
 * time (`ran: false`; the holder is doing it) and goes on to deliver: a slow holder, or one whose host died and
 * whose session the database has not ended yet (SERVER_KEEPALIVES), holds up no other instance's lanes. The
 * conditional cursor move stays the guard of exactness.
 */
function underFanOutLock<T>(
  pool: PgPool,
  fn: (client: PgClient) => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  return pgSessionLock(pool, FANOUT_LOCK_KEY, fn, { wait: false });
}

async function attempt(
  client: PgClient,
  kept: { list?: FanOutList },
  options: FanOutOptions,
): Promise<FanOutResult | typeof RACED> {
  const { stats } = options;
  const cursor = await cursorOf(client);
  const newest = Number((await pgOne<{ id: number }>(client, pgText(SQL.newest)))!.id);
  if (newest <= cursor.event) return { events: 0, logged: 0 };
  const refresh = listRefresh(kept.list, cursor.event, options.now);
  if (refresh !== "keep") {
    // Read after the newest event: a subscription made or approved since has its from_event_id at or past it.
    const subs = refresh === "extend"
      ? await pgAll<FanOutSubscription>(client, pgText(SUBSCRIPTION_SQL.fanOutSince), [kept.list!.horizon])
      : await pgAll<FanOutSubscription>(client, pgText(SUBSCRIPTION_SQL.fanOut));
    if (stats) stats.subscriptionsRead += subs.length;
    kept.list = refresh === "extend"
      ? extendList(kept.list!, subs, newest)
      : fanOutList(subs, newest, options.now);
  }
  const list = kept.list!;
  const heads = list.ids.size === 0 ? [] : await pgAll<EventHead>(client, pgText(SQL.heads), [
    cursor.event,
    list.horizon,
    options.batch ?? FANOUT_BATCH,
  ]);
  const plan = planBatch(list, heads, options.pairs ?? PG_FANOUT_ROWS, cursor);
  if (stats) stats.pairs += plan.candidates.length;
  // A subscription ended since the list was read is dropped here, and the list read again whole next batch: noticed
  // only by the commit's check of the rows that matched, one with a selective filter stayed listed (its filter
  // evaluated every batch) until the list's age. The commit checks again, its rows locked.
  const live = await liveSubscriptions(client, plan.candidates);
  const candidates = plan.candidates.filter((c) => live.has(c.sub.id));
  if (candidates.length < plan.candidates.length) list.stale = true;
  await readSnapshots(client, plan.events);
  const rows = await matching(client, candidates, options);
  if (stats) stats.batches++;
  const logged = await commit(client, rows, { cursor, next: plan.next, now: options.now }, list);
  return logged === RACED ? RACED : { events: eventsConsumed(cursor, plan.next), logged };
}

/**
 * The batch's one transaction: moves the cursor from `cursor` to `next` and logs the rows of the subscriptions still
 * live (LIVE; one that is not marks `list` stale). RACED when another fan-out moved the cursor, or when the
 * subscriptions were not locked in time.
 */
async function commit(
  client: PgClient,
  rows: NewNotification[],
  at: { cursor: FanOutCursor; next: FanOutCursor; now: string },
  list: FanOutList,
): Promise<number | typeof RACED> {
  await client.query("BEGIN");
  try {
    // Changes nothing when another fan-out moved the cursor since it was read (after waiting for its commit).
    if (await pgRun(client, pgText(SQL.move), moveParams(at.cursor, at.next)) === 0) {
      await client.query("ROLLBACK");
      return RACED;
    }
    const live = await liveRows(client, rows);
    // One ended since the list was read: the next batch reads it again whole.
    if (live.length < rows.length) list.stale = true;
    const logged = await pgInsertNotifications(client, live, at.now);
    await client.query("COMMIT");
    return logged;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    if ((err as { code?: unknown } | undefined)?.code === LOCK_NOT_AVAILABLE) return RACED;
    throw err;
  }
}

/** The notifications of the candidates whose event type and filter match, in candidate order. */
async function matching(db: PgClient, list: Candidate[], options: FanOutOptions): Promise<NewNotification[]> {
  const { now, cache, log } = options;
  const previous = await previousSnapshots(
    db,
    list.filter((c) => needsPrevious(c.sub, c.ev)).map((c) => c.ev),
  );
  const kept: Array<{ c: Candidate; filter: CompiledFilter | undefined }> = [];
  for (const c of list) {
    if (!isEventOf(c.sub, c.ev, previous.get(c.ev.id), log)) continue;
    const filter = filterOf(cache, c.sub, { at: c.ev.created_at, log, dialect: "postgres" });
    if (!(filter instanceof Error)) kept.push({ c, filter });
  }
  const passed = await filtered(db, kept, log);
  return kept.filter((k) => !k.filter || passed.has(k.c)).map((k) => notificationOf(k.c, now));
}

/** Fills in the snapshots of `events` (heads read without them). */
async function readSnapshots(db: PgClient, events: EventHead[]): Promise<void> {
  if (events.length === 0) return;
  const rows = await pgAll<{ id: number; snapshot: string }>(db, SNAPSHOTS, [events.map((e) => e.id)]);
  const byId = new Map(rows.map((r) => [Number(r.id), r.snapshot]));
  for (const ev of events) ev.snapshot = byId.get(Number(ev.id))!;
}

/** Which of the candidates' subscriptions are live now (not ended since the list was read); nothing locked. */
async function liveSubscriptions(db: PgClient, candidates: Candidate[]): Promise<Set<number>> {
  if (candidates.length === 0) return new Set();
  const ids = [...new Set(candidates.map((c) => c.sub.id))];
  return new Set((await pgAll<{ id: number }>(db, LIVE_IDS, [ids])).map((r) => Number(r.id)));
}

/** The rows of subscriptions still live, their rows locked (LIVE); in the batch's transaction. */
async function liveRows(db: PgClient, rows: NewNotification[]): Promise<NewNotification[]> {
  if (rows.length === 0) return rows;
  // An ending under way is waited for, not long: a transaction ending several subscriptions (a sender delete) in
  // another order than LIVE's could wait for this one meanwhile; this one gives way before a deadlock is found.
  await db.query(`SET LOCAL lock_timeout = ${LIVE_WAIT_MS}`);
  const ids = [...new Set(rows.map((r) => r.subscriptionId))];
  const live = new Set((await pgAll<{ id: number }>(db, LIVE, [ids])).map((r) => Number(r.id)));
  return rows.filter((r) => live.has(r.subscriptionId));
}

/** The snapshot of each event's registrant's previous event, for every event at once. */
async function previousSnapshots(
  db: PgClient,
  events: EventHead[],
): Promise<Map<number, string | undefined>> {
  if (events.length === 0) return new Map();
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  const rows = await pgAll<{ id: number; snapshot: string | null }>(db, PREVIOUS, [
    unique.map((e) => e.id),
    unique.map((e) => e.registrant_id),
  ]);
  return new Map(rows.map((r) => [r.id, r.snapshot ?? undefined]));
}

/** An event's record values for a filter, with the candidate it decides. */
interface Item {
  c: Candidate;
  values: FilterValue[];
}

/**
 * The candidates whose filter holds for their event's record: one statement per subscription over all its events
 * of the batch. A record whose values cannot be read is logged and left out.
 */
async function filtered(
  db: PgClient,
  kept: Array<{ c: Candidate; filter: CompiledFilter | undefined }>,
  log: FanOutOptions["log"],
): Promise<Set<Candidate>> {
  const withFilter = kept.filter((k) => k.filter);
  const groups = await groupIds(db, withFilter.map((k) => k.c.ev.registrant_id));
  // One statement per compiled filter: a subscription's, for its events of one day (filterOf).
  const byFilter = new Map<CompiledFilter, Item[]>();
  for (const { c, filter } of withFilter) {
    let values: FilterValue[];
    try {
      values = snapshotValues(c.ev, groups.get(c.ev.registrant_id) ?? null);
    } catch (err) {
      filterFailed(err, false, c, log);
      continue;
    }
    const items = byFilter.get(filter!) ?? [];
    items.push({ c, values });
    byFilter.set(filter!, items);
  }
  const passed = new Set<Candidate>();
  for (const [filter, items] of byFilter) {
    for (const item of await evaluate(db, filter, items, log)) passed.add(item.c);
  }
  return passed;
}

/** The current household of each registrant (what the filter's `group_id` reads, as on SQLite). */
async function groupIds(db: PgClient, ids: number[]): Promise<Map<number, number | null>> {
  if (ids.length === 0) return new Map();
  const rows = await pgAll<{ id: number; group_id: number | null }>(db, GROUPS, [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, r.group_id]));
}

/**
 * The items `filter` holds for, in one statement. When it fails (not in passing), item by item, so that only the
 * events it fails on are logged and left out.
 */
async function evaluate(
  db: PgClient,
  filter: CompiledFilter,
  items: Item[],
  log: FanOutOptions["log"],
): Promise<Item[]> {
  try {
    // Unnamed: a prepared statement per filter would stay on every connection for as long as it lives.
    const text = pgPlaceholders(`${ROWS} SELECT r.item_ FROM r0 r WHERE (${filter.sql})`);
    const columns = FILTER_COLUMNS.map((_, j) => items.map((item) => item.values[j]));
    const hits = new Set(
      (await db.query(text, [...columns, ...filter.params])).rows.map((r) => Number(r.item_)),
    );
    return items.filter((_, i) => hits.has(i + 1));
  } catch (err) {
    if (isTransientPgError(err) || items.length === 1) {
      filterFailed(err, isTransientPgError(err), items[0].c, log);
      return [];
    }
  }
  const out: Item[] = [];
  for (const item of items) out.push(...await evaluate(db, filter, [item], log));
  return out;
}

/**
 * A query that failed without SQLSTATE (the connection failed), or with class 08 (connection; not 08P01, a
 * malformed statement), 40 (serialization, deadlock), 53 (resources), 57 (operator intervention, e.g. a cancelled
 * statement) or 58 (system): the same work may succeed when redone.
 */
function isTransientPgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || code.length !== 5) return true;
  return code !== "08P01" && ["08", "40", "53", "57", "58"].includes(code.slice(0, 2));
}
