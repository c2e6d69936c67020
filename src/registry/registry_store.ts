/**
 * The registry's records and change events, as the services read and write them: the interface, and its embedded
 * SQLite implementation over the synchronous functions of store.ts, events.ts and browse.ts (each write one
 * transaction). The PostgreSQL one is pg_registry_store.ts. Imports and bulk loads, and searches, have their own.
 */
import { type Db, transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { Registrant } from "./model.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { profileOf } from "../registries/index.ts";
import { purgeOldEvents } from "./event_retention.ts";
import { deleteInChunks } from "../db/purge.ts";
import { type BrowseOptions, type BrowsePage, browseRegistrants } from "./browse.ts";
import { censusSql, type ListedMembers, listGroupNow, membersSql } from "./search_members.ts";
import { sqliteListingReads } from "./search.ts";
import {
  lastEventId,
  listEventsAfter,
  listRecentEvents,
  type RegistryEvent,
  type RegistryEventType,
} from "./events.ts";
import {
  deleteRegistrant,
  fromRow,
  getRegistrant,
  getRegistrantById,
  registrantCounts,
  registryOfRecordType,
  saveRegistrant,
  STORE_REGISTRY,
  type StoredRegistrant,
} from "./store.ts";

/** A page of the admin list: live registrants of a registry, newest first. */
export interface ListPage {
  /** A storage record type, or every one of the registry. */
  recordType?: string;
  /** Row ids below this one (a cursor), or from the newest. */
  before?: number;
  limit: number;
}

/** An identifier to look a record up by: its value, and its type when given (else any type). */
export interface IdentifierQuery {
  type?: string;
  value: string;
}

/** The registry's records and events. */
export interface RegistryStore {
  /** The registrant of `registry` (social by default) with this external id, deleted ones included. */
  get(externalId: string, registry?: string): Promise<StoredRegistrant | undefined>;
  /** The registrant with this row id, deleted ones included. */
  getById(id: number): Promise<StoredRegistrant | undefined>;
  /**
   * The first MAX_LISTED_MEMBERS live members of a group (by its row id), in registration order, with its live
   * count when it has more (search_members.ts: its head takes the last place when not among the first).
   */
  members(groupId: number): Promise<ListedMembers>;
  /**
   * Live registrants of `registry` per storage record type (each of its profile's, 0 when none), and the deleted
   * ones: an index entry read per record. With `budgetMs`, BudgetExceeded when that is not enough.
   */
  counts(registry: string, budgetMs?: number): Promise<Record<string, number>>;
  /** Whether no registrant, live or deleted, exists (of `registry` when given, else of any registry). */
  isEmpty(registry?: string): Promise<boolean>;
  /** The id of the newest event, 0 when none. */
  lastEventId(): Promise<number>;
  /**
   * Creates or replaces a registrant (by external id within the registry of its record type) and records its
   * event, in one transaction; InputError for a conflict (create over a live id, another record type, an
   * identifier another registrant holds, an unknown household). Exact with several instances.
   */
  save(
    reg: Registrant,
    options: { mode: "create" | "upsert"; now: string },
  ): Promise<{ id: number; eventType: RegistryEventType }>;
  /**
   * Reads the live registrant, saves `merge(current)` over it (upsert) and records the event, in one transaction
   * (no other write of it comes between); the saved record, or undefined when there is no live one.
   */
  patch(
    registry: string,
    externalId: string,
    merge: (current: StoredRegistrant) => Registrant,
    now: string,
  ): Promise<Registrant | undefined>;
  /** Soft-deletes a live registrant and records the event; the record as deleted, or undefined when none. */
  delete(
    externalId: string,
    options: { now: string; registry?: string },
  ): Promise<StoredRegistrant | undefined>;
  /** Events after a cursor, oldest first (of one registry, or all). */
  eventsAfter(afterId: number, options?: { limit?: number; registry?: string }): Promise<RegistryEvent[]>;
  /** A registry's events before a cursor, newest first. */
  recentEvents(registry: string, options?: { beforeId?: number; limit?: number }): Promise<RegistryEvent[]>;
  /** Deletes the events written before `cutoff` that nothing reads any more (event_retention.ts); how many. */
  purgeEvents(cutoff: string): Promise<number>;
  /** A page of live registrants, newest first (the admin list). */
  list(registry: string, page: ListPage): Promise<StoredRegistrant[]>;
  /** The registry browser's search (browse.ts): id or identifier exactly, then by family name prefix. */
  browse(profile: RegistryProfile, q: string, options?: BrowseOptions): Promise<BrowsePage>;
  /** Live registrants of a storage record type holding the identifier, by row id, at most `limit`. */
  findByIdentifier(id: IdentifierQuery, recordType: string, limit: number): Promise<StoredRegistrant[]>;
}

/** The statements both dialects share (PostgreSQL numbers them with `pgText`). */
export const STORE_SQL = {
  // One record type's live records of a registry, newest first below the cursor: a range of the registry's index
  // (migration 0041), whatever the other registries hold. A page of several record types reads one each.
  list: `SELECT r.id, d.data, r.deleted_at FROM registrants r JOIN registrant_data d ON d.id = r.id
    WHERE r.registry = ? AND r.record_type = ? AND r.deleted_at IS NULL AND r.id < ?
    ORDER BY r.id DESC LIMIT ?+0`,
  anyRegistrant: "SELECT 1 AS one FROM registrants LIMIT 1",
  // (registry, registry): a seek in each of the registry's indexes (migrations 0041, 0042), live and deleted.
  anyOfRegistry:
    `SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM registrants WHERE registry = ? AND deleted_at IS NULL)
    OR EXISTS (SELECT 1 FROM registrants WHERE registry = ? AND deleted_at IS NOT NULL)`,
  // The identifiers primary key leads with the value: both forms are one index lookup, then a row check.
  byIdentifier: `SELECT DISTINCT r.id, d.data, r.deleted_at FROM identifiers i
    JOIN registrants r ON r.id = i.registrant_id JOIN registrant_data d ON d.id = r.id
    WHERE i.id_value = ? AND i.registry = ? AND i.live = 1 AND r.record_type = ? AND r.deleted_at IS NULL
    ORDER BY r.id LIMIT ?+0`,
  byTypedIdentifier: `SELECT DISTINCT r.id, d.data, r.deleted_at FROM identifiers i
    JOIN registrants r ON r.id = i.registrant_id JOIN registrant_data d ON d.id = r.id
    WHERE i.id_value = ? AND i.id_type = ? AND i.registry = ? AND i.live = 1 AND r.record_type = ?
    AND r.deleted_at IS NULL ORDER BY r.id LIMIT ?+0`,
};

/**
 * The bound values of each `STORE_SQL.list` read of a page: one per storage record type, the one asked for or
 * every one of the registry's profile. `newestOf` makes the page of their rows.
 */
export function listArgs(registry: string, page: ListPage): Array<Array<string | number>> {
  const types = page.recordType !== undefined
    ? [page.recordType]
    : profileOf(registry)?.recordTypes.map((rt) => rt.storage) ?? [];
  return types.map((t) => [registry, t, page.before ?? Number.MAX_SAFE_INTEGER, page.limit]);
}

/** The page of the rows of each record type's `STORE_SQL.list` read: the newest `limit` of them. */
export function newestOf<T extends { id: number }>(reads: T[][], limit: number): T[] {
  return reads.length === 1 ? reads[0] : reads.flat().sort((a, b) => b.id - a.id).slice(0, limit);
}

/** The statement and bound values of a lookup by identifier. */
export function identifierLookup(
  id: IdentifierQuery,
  recordType: string,
  limit: number,
): [string, Array<string | number>] {
  const registry = registryOfRecordType(recordType);
  return id.type === undefined
    ? [STORE_SQL.byIdentifier, [id.value, registry, recordType, limit]]
    : [STORE_SQL.byTypedIdentifier, [id.value, id.type, registry, recordType, limit]];
}

/** Whether `db` holds no registrant, live or deleted (of `registry` when given, else of any registry). */
export function registryEmpty(db: Db, registry?: string): boolean {
  return (registry === undefined
    ? stmt(db, STORE_SQL.anyRegistrant).get()
    : stmt(db, STORE_SQL.anyOfRegistry).get(registry, registry)) === undefined;
}

/** The registry store on the embedded SQLite database `db`. */
export function sqliteRegistryStore(db: Db): RegistryStore {
  type Row = { id: number; data: string; deleted_at: string | null };
  return {
    get: (externalId, registry = STORE_REGISTRY) =>
      Promise.try(() => getRegistrant(db, externalId, registry)),
    getById: (id) => Promise.try(() => getRegistrantById(db, id)),
    members: (groupId) =>
      Promise.try(() => listGroupNow(groupId, sqliteListingReads(db, MEMBERS_SQL, CENSUS_SQL))),
    counts: (registry, budgetMs) => Promise.try(() => registrantCounts(db, registry, budgetMs)),
    isEmpty: (registry) => Promise.try(() => registryEmpty(db, registry)),
    lastEventId: () => Promise.try(() => lastEventId(db)),
    save: (reg, options) => Promise.try(() => transaction(db, () => saveRegistrant(db, reg, options))),
    patch: (registry, externalId, merge, now) =>
      Promise.try(() =>
        transaction(db, () => {
          const current = getRegistrant(db, externalId, registry);
          if (!current || current.deletedAt) return undefined;
          const merged = merge(current);
          saveRegistrant(db, merged, { mode: "upsert", now });
          return merged;
        })
      ),
    delete: (externalId, options) =>
      Promise.try(() => transaction(db, () => deleteRegistrant(db, externalId, options))),
    eventsAfter: (afterId, options) => Promise.try(() => listEventsAfter(db, afterId, options)),
    recentEvents: (registry, options) => Promise.try(() => listRecentEvents(db, registry, options)),
    purgeEvents: (cutoff) =>
      purgeOldEvents({
        one: (sql, args) => Promise.try(() => stmt(db, sql).get(...args)),
        deleteInChunks: (sql, args, chunk) => deleteInChunks(db, sql, args, chunk),
      }, cutoff),
    list: (registry, page) =>
      Promise.try(() => {
        const reads = listArgs(registry, page).map((args) => stmt(db, STORE_SQL.list).all(...args) as Row[]);
        return newestOf(reads, page.limit).map(fromRow);
      }),
    browse: (profile, q, options) => Promise.try(() => browseRegistrants(db, profile, q, options)),
    findByIdentifier: (id, recordType, limit) =>
      Promise.try(() => {
        const [sql, args] = identifierLookup(id, recordType, limit);
        return (stmt(db, sql).all(...args) as Row[]).map(fromRow);
      }),
  };
}

const MEMBERS_SQL = membersSql("");
const CENSUS_SQL = censusSql("");
