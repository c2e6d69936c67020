/**
 * The registry's records and events in PostgreSQL: the statements of store.ts, events.ts and registry_store.ts,
 * numbered, where both dialects agree; the writes of pg_registry_write.ts; the browser's NOCASE surname order as
 * `lower(surname)` with the pattern operators, so the reg_p_surname_ci-style indexes serve range and order.
 *
 * Every write is one transaction that takes the registry event lock first (pg_event_lock.ts): registry writers
 * run one after another from their checks to their commit, so two instances creating one external id, or two
 * records claiming one identifier, at once get one success and the InputError a second writer gets on SQLite.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgDeleteInChunks, pgOne, type PgQueryable, pgText, pgTransaction } from "../db/pg/query.ts";
import { purgeOldEvents } from "./event_retention.ts";
import { lockEvents } from "./pg_event_lock.ts";
import { pgDeleteRegistrant, pgGetRegistrant, pgSaveRegistrant } from "./pg_registry_write.ts";
import { afterArgs, eventOf, type EventRow, EVENTS_SQL, recentArgs } from "./events.ts";
import { type CountRow, COUNTS_SQL, countsOf, fromRow, SQL, STORE_REGISTRY } from "./store.ts";
import {
  browsePage,
  type BrowsePlan,
  browsePlan,
  type BrowseRow,
  EXACT_SQL,
  prefixEnd,
  rangeArgs,
  tooBroad,
  uniqueRows,
} from "./browse.ts";
import { wallClockBudget } from "../db/budget.ts";
import { pgWithBudget } from "../db/pg/budget.ts";
import { identifierLookup, listArgs, newestOf, type RegistryStore, STORE_SQL } from "./registry_store.ts";
import { listGroup } from "./search_members.ts";
import { pgListingReads } from "./pg_search.ts";

type Row = { id: number; data: string; deleted_at: string | null };

const rows = async (db: PgQueryable, sql: string, args: Array<string | number | null>) =>
  (await pgAll<Row>(db, pgText(sql), args)).map(fromRow);

/** The registry store on the PostgreSQL database behind `pool`. */
export function pgRegistryStore(pool: PgPool): RegistryStore {
  const events = async (sql: string, args: Array<string | number>) =>
    (await pgAll<EventRow>(pool, pgText(sql), args)).map(eventOf);
  return {
    get: (externalId, registry = STORE_REGISTRY) => pgGetRegistrant(pool, externalId, registry),
    getById: async (id) => (await rows(pool, SQL.byId, [id]))[0],
    members: (groupId) => listGroup(groupId, pgListingReads(pool)),
    counts: async (registry, budgetMs) => {
      const rows = await pgWithBudget(
        pool,
        wallClockBudget(budgetMs),
        (c) => pgAll<CountRow>(c, pgText(COUNTS_SQL), [registry, registry]),
      );
      return countsOf(registry, rows);
    },
    isEmpty: async (registry) =>
      (registry === undefined
        ? await pgOne(pool, STORE_SQL.anyRegistrant)
        : await pgOne(pool, pgText(STORE_SQL.anyOfRegistry), [registry, registry])) === undefined,
    lastEventId: async () => Number((await pgOne<{ id: number }>(pool, EVENTS_SQL.lastId))!.id),
    save: (reg, options) =>
      pgTransaction(pool, async (c) => {
        await lockEvents(c);
        return await pgSaveRegistrant(c, reg, options);
      }),
    patch: (registry, externalId, merge, now) =>
      pgTransaction(pool, async (c) => {
        await lockEvents(c);
        const current = await pgGetRegistrant(c, externalId, registry);
        if (!current || current.deletedAt) return undefined;
        const merged = merge(current);
        await pgSaveRegistrant(c, merged, { mode: "upsert", now });
        return merged;
      }),
    delete: (externalId, options) =>
      pgTransaction(pool, async (c) => {
        await lockEvents(c);
        return await pgDeleteRegistrant(c, externalId, options);
      }),
    eventsAfter: (afterId, options = {}) =>
      events(
        options.registry === undefined ? EVENTS_SQL.after : EVENTS_SQL.afterIn,
        afterArgs(afterId, options),
      ),
    recentEvents: (registry, options = {}) => events(EVENTS_SQL.recent, recentArgs(registry, options)),
    purgeEvents: (cutoff) =>
      purgeOldEvents({
        one: (sql, args) => pgOne(pool, pgText(sql), args),
        deleteInChunks: (sql, args, chunk) => pgDeleteInChunks(pool, pgText(sql), args, chunk),
      }, cutoff),
    list: async (registry, page) => {
      const reads = [];
      for (const args of listArgs(registry, page)) {
        reads.push(await pgAll<Row>(pool, pgText(STORE_SQL.list), args));
      }
      return newestOf(reads, page.limit).map(fromRow);
    },
    browse: async (profile, q, options) => {
      const plan = browsePlan(profile, q, options);
      if (!plan) return { items: [], next_after: null };
      const exact = plan.exact
        ? uniqueRows([
          ...await pgAll<BrowseRow>(pool, pgText(EXACT_SQL.byId), [plan.text, profile.name]),
          ...await pgAll<BrowseRow>(pool, pgText(EXACT_SQL.byIdentifier), [plan.text, profile.name]),
        ])
        : [];
      // As on SQLite, the surname ranges share the search budget: a given-name filter that reads past it is
      // refused as too broad (PostgreSQL cancels the statement at its timeout).
      const budget = wallClockBudget(options?.budgetMs);
      const ranges: BrowseRow[] = [];
      try {
        for (const storage of plan.persons) {
          const [sql, args] = surnameRangeQuery(storage, plan);
          ranges.push(...await pgWithBudget(pool, budget, (c) => pgAll<BrowseRow>(c, sql, args)));
        }
      } catch (err) {
        throw tooBroad(err);
      }
      return browsePage(plan, exact, ranges);
    },
    findByIdentifier: (id, recordType, limit) => rows(pool, ...identifierLookup(id, recordType, limit)),
  };
}

/**
 * The statement and bound values of the persons of `storage` whose surname starts with the plan's prefix,
 * case-insensitively (lower(): ASCII, as NOCASE, in the C locale migratePg requires), in (lower(surname), id)
 * order after the cursor (a second lower bound, so a page's index range starts at the cursor). The pattern
 * operators (`~>=~`, `~<~`, ORDER BY … USING ~<~) are the ones of the `lower(surname) text_pattern_ops` index,
 * whose predicate this query repeats; in the C locale they order as `<` does. Exported for the plan's test.
 */
export function surnameRangeQuery(storage: string, plan: BrowsePlan): [string, Array<string | number>] {
  const sql = `SELECT r.id, d.data, r.deleted_at, r.surname FROM registrants r
    JOIN registrant_data d ON d.id = r.id
    WHERE r.record_type = ? AND r.deleted_at IS NULL AND r.surname IS NOT NULL
      AND lower(r.surname) ~>=~ lower(?) AND lower(r.surname) ~<~ lower(?)
      ${
    plan.cursor ? "AND lower(r.surname) ~>=~ lower(?) AND (lower(r.surname) ~>~ lower(?) OR r.id > ?)" : ""
  }
      ${plan.given ? "AND lower(r.given_name) LIKE lower(?) ESCAPE '\\'" : ""}
    ORDER BY lower(r.surname) USING ~<~, r.id LIMIT ?+0`;
  const args = rangeArgs(plan);
  if (plan.cursor) args.splice(1, 0, plan.cursor.surname);
  return [pgText(sql), [storage, plan.surname, prefixEnd(plan.surname), ...args, plan.limit + 1]];
}
