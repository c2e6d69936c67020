/**
 * Answering one DCI search item on SQLite: validate, compile, count, fetch a page and map records (the parts
 * both backends share are in search_item.ts; PostgreSQL's execution is pg_search.ts). Synchronous: it runs in
 * the search pool's workers under the statement budget of src/db/budget.ts.
 */
import { type Db, readSnapshot } from "../db/sqlite.ts";
import { type Compiled, searchFrom, toSql } from "./query_sql.ts";
import { fromRow, REGISTRANT_SELECT, SQL, type StoredRegistrant } from "./store.ts";
import { stmt } from "../db/statements.ts";
import { type StatementBudget, withStatementBudget } from "../db/budget.ts";
import type { RecordTypeDef, RegistryProfile } from "../registries/profile.ts";
import { afterCursor, orderBy } from "./search_cursor.ts";
import { valueEstimator } from "./query_intersect.ts";
import { identifierPage } from "./search_lookup.ts";
import { denseRange } from "./search_dense.ts";
import { countSql, uncheckedCountFrom } from "./search_count.ts";
import { budgetPrefix } from "./query_dialect.ts";
import {
  type Census,
  censusSql,
  type ListedMembers,
  listGroupNow,
  type MemberRow,
  membersSql,
  type SyncListingReads,
} from "./search_members.ts";
import {
  answerOf,
  type ItemPage,
  nextCursorOf,
  type PreparedItem,
  prepareItem,
  rejectionOf,
  type SearchResponseItem,
  tooMany,
  toRecords,
} from "./search_item.ts";
import { oneRecordSortRefusal } from "./search_criteria.ts";

export { recordTypeOf } from "./search_criteria.ts";
export { referenceIdOf, rejectItem, type SearchResponseItem, type SearchRjctCode } from "./search_item.ts";

/** What a search needs. */
export interface SearchContext {
  db: Db;
  maxPageSize: number;
  maxResults: number;
  /** Epoch ms now (responses' timestamps and `age`). */
  now: number;
  /** The request's SQL time budget, shared by its items (DCI_SEARCH_BUDGET_MS; searchMessage sets it). */
  budget?: StatementBudget;
  /** The registry of the request's path (social when not given): its vocabulary, attributes and records. */
  profile?: RegistryProfile;
}

/** Answers one search item of the registry `ctx.profile`; never throws for client mistakes. */
export function searchItem(ctx: SearchContext, item: unknown): SearchResponseItem {
  try {
    return runItem(ctx, item);
  } catch (err) {
    return rejectionOf(err, item, ctx.now);
  }
}

function runItem(ctx: SearchContext, item: unknown): SearchResponseItem {
  const p = prepareItem(ctx, item);
  // The counts that choose an AND's driving comparison (valueEstimator) run under the request's budget too. An
  // identifier lookup's first page compiles to one identifier test (no count) and its statement is bounded by the
  // data (identifierPage): it answers even when the request's earlier items used the budget up, as on PostgreSQL.
  const compile = () => toSql(p.cond, { ...p.sql, estimate: valueEstimator(ctx.db) });
  const where = ctx.budget && !p.lookup ? withStatementBudget(ctx.db, ctx.budget, compile) : compile();
  // The count, the page and its records from one snapshot (PostgreSQL reads them in one transaction too): a
  // write committed between them could answer a record no longer live, or a total the page disagrees with.
  const read = () => readSnapshot(ctx.db, () => readMatches(ctx, p, where));
  const lookup = p.lookup
    ? identifierPage(ctx.db, {
      where,
      storage: p.recordType.storage,
      groupStorage: p.sql.groupStorage!,
      sort: p.sort,
      pageSize: p.pageSize,
    })
    : undefined;
  // A group's members are read under the budget (the lookup's own statement is bounded by the data).
  const listed = () => recordsOf(ctx.db, p.profile, p.recordType, lookup!);
  const budget = p.recordType.kind === "group" ? ctx.budget : undefined;
  const page = lookup
    ? { total: lookup.length, records: budget ? withStatementBudget(ctx.db, budget, listed) : listed() }
    : ctx.budget
    ? withStatementBudget(ctx.db, ctx.budget, read)
    : read();
  return answerOf(p, ctx.now, page);
}

/**
 * The count (up to maxResults + 1, else refused) and the requested page of a compiled search (after the
 * cursor's position when one was sent), with the cursor of the next page when more records follow.
 */
function readMatches(ctx: SearchContext, q: PreparedItem, where: Compiled): ItemPage {
  const base = searchFrom(where, q.recordType.storage, q.sql.groupStorage);
  const params = where.params;
  const keyset = q.after ? afterCursor(q.sort, q.after) : undefined;
  const columns = ["r.id AS id", ...q.sort.map((k, i) => `${k.sql} AS k${i}`)].join(", ");
  // One row past the page says whether a next page exists. all(), never iterate(): iterate() ends without an
  // error when a step fails in SQLite, and the page would come back cut short as if complete (src/db/budget.ts).
  // `ids`: read in row id order within (low, high] (search_dense.ts), not through an index.
  const page = (ids?: { low: number; high: number }) => {
    const from = ids
      ? `${
        searchFrom(where, q.recordType.storage, q.sql.groupStorage, { rowidOrder: true })
      } AND r.id > ? AND r.id <= ?`
      : base;
    return stmt(
      ctx.db,
      `SELECT ${columns} ${from}${keyset ? ` AND ${keyset.sql}` : ""} ORDER BY ${orderBy(q.sort)} ` +
        "LIMIT ?+0 OFFSET ?+0",
    ).all(
      ...params,
      ...(ids ? [ids.low, ids.high] : []),
      ...(keyset?.params ?? []),
      q.pageSize + 1,
      q.offset,
    ).map((r) => Object.values(r as Record<string, string | number | null>));
  };
  // Count first (bounded by maxResults + 1), so a refused query never sorts all its matches. (An identifier
  // lookup's first page is its count too: search_lookup.ts answers it before this.)
  const limit = ctx.maxResults + 1;
  const counted = uncheckedCountFrom(ctx.db, where, q.recordType.storage, limit, ctx.budget) ?? base;
  const total = Number((stmt(ctx.db, countSql(counted)).get(...params, limit) as { n: number }).n);
  if (total > ctx.maxResults) throw tooMany(ctx.maxResults);
  if (q.oneRecordSort !== undefined && total > 1) throw oneRecordSortRefusal(q.oneRecordSort, total);
  if (q.offset >= total) return { total, records: [] };
  const dense = denseRange(ctx.db, {
    total,
    offset: q.offset,
    pageSize: q.pageSize,
    sort: q.sort,
    after: q.after,
  });
  let rows = dense ? page(dense) : [];
  // Fewer than a full page within the range: the matches are not spread evenly; the index way answers.
  if (rows.length <= q.pageSize) rows = page();
  const nextCursor = nextCursorOf(q.sort, rows, q.pageSize);
  const regs = fetchRows(ctx.db, rows.slice(0, q.pageSize).map((r) => Number(r[0]))).map(fromRow);
  return {
    total,
    records: recordsOf(ctx.db, q.profile, q.recordType, regs),
    ...(nextCursor ? { nextCursor } : {}),
  };
}

/**
 * The DCI records of stored registrants (a group's with the members it lists: search_members.ts), each statement
 * checking the budget installed by the caller on its rows.
 */
function recordsOf(
  db: Db,
  profile: RegistryProfile,
  recordType: RecordTypeDef,
  regs: StoredRegistrant[],
): Record<string, unknown>[] {
  if (recordType.kind !== "group" || regs.length === 0) return toRecords(profile, recordType, regs);
  const members = new Map<number, ListedMembers>();
  const read = sqliteListingReads(db, MEMBERS_SQL, CENSUS_SQL);
  for (const g of regs) members.set(g.id, listGroupNow(g.id, read));
  return toRecords(profile, recordType, regs, members);
}

const MEMBERS_SQL = membersSql(budgetPrefix({ mode: "search" }, "r.id"));
const CENSUS_SQL = censusSql(budgetPrefix({ mode: "search" }, "r.id"));

/** A group listing's reads on `db` with these statements of membersSql and censusSql (search_members.ts). */
export function sqliteListingReads(db: Db, membersSql: string, censusSql: string): SyncListingReads {
  return {
    members: (id) => stmt(db, membersSql).all(id) as MemberRow[],
    census: (id) => stmt(db, censusSql).get(id) as Census,
    row: (id) => stmt(db, SQL.byId).get(id) as MemberRow | undefined,
  };
}

/** Rows of `ids` with their data, in the order of `ids`. */
function fetchRows(db: Db, ids: number[]): Array<{ id: number; data: string; deleted_at: null }> {
  if (ids.length === 0) return [];
  const rows = stmt(db, `${REGISTRANT_SELECT} WHERE r.id IN (${ids.map(() => "?").join(",")})`)
    .all(...ids) as Array<{ id: number; data: string; deleted_at: null }>;
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  return ids.map((id) => byId.get(id)!).filter(Boolean);
}
