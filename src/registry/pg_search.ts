/**
 * Answering one DCI search item on PostgreSQL: the same validation, query, count, page, cursor and records as
 * SQLite (search_item.ts, the compiler in PostgreSQL's dialect), the statements run by the database server in
 * its own process. A search's count and page are read in one read-only snapshot bounded by the request's time
 * budget (src/db/pg/budget.ts). No row id scan (search_dense.ts works around SQLite's planner): PostgreSQL
 * chooses its own plan, and the result is the same either way.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, pgPlaceholders, type PgQueryable, pgText } from "../db/pg/query.ts";
import { pgWithBudget, type Tighten } from "../db/pg/budget.ts";
import type { StatementBudget } from "../db/budget.ts";
import { type Compiled, searchFrom, toSql } from "./query_sql.ts";
import { ESTIMATE_ROWS, estimateOf } from "./query_intersect.ts";
import { fromRow, SQL, type StoredRegistrant } from "./store.ts";
import {
  type Census,
  censusSql,
  type ListedMembers,
  listGroup,
  type ListingReads,
  type MemberRow,
  membersSql,
} from "./search_members.ts";
import { attributeOf } from "./attributes.ts";
import { afterCursor, orderBy } from "./search_cursor.ts";
import { withDataFrom } from "./search_lookup.ts";
import { ItemRejection, oneRecordSortRefusal } from "./search_criteria.ts";
import { hasNul } from "./query_parse.ts";
import type { RecordTypeDef, RegistryProfile } from "../registries/profile.ts";
import {
  answerOf,
  type ItemPage,
  type ItemSettings,
  nextCursorOf,
  type PreparedItem,
  prepareItem,
  rejectionOf,
  type SearchResponseItem,
  tooMany,
  toRecords,
} from "./search_item.ts";

/** What a search on PostgreSQL needs (SearchContext without the SQLite handle). */
export interface PgSearchContext extends ItemSettings {
  maxResults: number;
  budget?: StatementBudget;
}

type DataRow = { id: number; data: string; deleted_at: null };

/** Runs a statement built for this request (not a constant: no named prepared statement, no cache). */
async function run<R>(db: PgQueryable, sqliteText: string, values: Array<string | number>): Promise<R[]> {
  return (await db.query(pgPlaceholders(sqliteText), values)).rows as R[];
}

/** Answers one search item of the registry `ctx.profile` on PostgreSQL; never throws for client mistakes. */
export async function pgSearchItem(
  pool: PgPool,
  ctx: PgSearchContext,
  item: unknown,
): Promise<SearchResponseItem> {
  try {
    const p = prepareItem(ctx, item);
    checkCursorTypes(p);
    // The counts that choose an AND's driving comparison run under the request's budget, as its reads do.
    const where = await pgWithBudget(pool, ctx.budget, (client, tighten) => compile(client, p, tighten));
    const lookup = p.lookup ? await identifierPage(pool, p, where) : undefined;
    // A group's members are read under the budget (the lookup's own statement is bounded by the data).
    const records = (regs: StoredRegistrant[]) =>
      p.recordType.kind === "group"
        ? pgWithBudget(pool, ctx.budget, (client) => recordsOf(client, p.profile, p.recordType, regs))
        : toRecords(p.profile, p.recordType, regs);
    const page = lookup ? { total: lookup.length, records: await records(lookup) } : await pgWithBudget(
      pool,
      ctx.budget,
      (client, tighten) => readMatches(client, tighten, ctx, p, where),
    );
    return answerOf(p, ctx.now, page);
  } catch (err) {
    return rejectionOf(err, item, ctx.now);
  }
}

/**
 * The compiled query. An AND of registry attributes is driven by the comparison with the fewest rows
 * (query_intersect.ts), whose rows are counted before compiling: a first pass collects the counts asked for,
 * they are read, and the second pass compiles with them.
 */
async function compile(pool: PgQueryable, p: PreparedItem, tighten: Tighten): Promise<Compiled> {
  const asked: Array<{ where: string; params: Array<string | number>; oneKey: boolean }> = [];
  const first = toSql(p.cond, {
    ...p.sql,
    dialect: "postgres",
    estimate: (where, params, oneKey) => (asked.push({ where, params, oneKey }), 0),
  });
  if (asked.length === 0) return first;
  const key = (where: string, params: unknown[]) => `${where}\u0000${JSON.stringify(params)}`;
  const counts = new Map<string, number>();
  let maxId: number | undefined;
  for (const a of asked) {
    await tighten();
    const [{ n, last }] = await run<{ n: number; last: number | null }>(
      pool,
      `SELECT COUNT(*) AS n, MAX(id) AS last FROM (SELECT v.registrant_id AS id FROM registrant_values v ` +
        `WHERE ${a.where} LIMIT ?) s`,
      [...a.params, ESTIMATE_ROWS],
    );
    const needMax = n >= ESTIMATE_ROWS && a.oneKey && maxId === undefined;
    if (needMax) {
      maxId = Number((await pgAll<{ m: number }>(pool, "SELECT MAX(id) AS m FROM registrants"))[0].m);
    }
    counts.set(key(a.where, a.params), estimateOf(Number(n), last, a.oneKey, maxId ?? 0));
  }
  return toSql(p.cond, {
    ...p.sql,
    dialect: "postgres",
    estimate: (where, params) => counts.get(key(where, params)) ?? Number.MAX_SAFE_INTEGER,
  });
}

/**
 * A cursor's values are checked for their shape only (search_cursor.ts); SQLite compares any value with any
 * column, PostgreSQL refuses a text against a number column (and any text holding NUL). A forged cursor whose
 * value is not of its sort column's type is refused as any invalid cursor.
 */
function checkCursorTypes(p: PreparedItem): void {
  if (!p.after) return;
  p.sort.forEach((k, i) => {
    const v = p.after!.values[i];
    const numeric = attributeOf(k.column)?.kind === "number";
    if (v !== null && ((typeof v === "number") !== numeric || hasNul(v))) {
      throw new ItemRejection(
        "rjct.pagination.invalid",
        "pagination.cursor is not a next_cursor this server issued for this sort order",
      );
    }
  });
}

/** An identifier lookup's first page in one statement, or undefined when it found more (search_lookup.ts). */
async function identifierPage(pool: PgPool, p: PreparedItem, where: Compiled) {
  const base = searchFrom(where, p.recordType.storage, p.sql.groupStorage);
  const text = `${withDataFrom(base)} ORDER BY ${orderBy(p.sort, "postgres")} LIMIT ?`;
  const values = [...where.params, p.pageSize + 1];
  // Planning this statement costs ~10 times running it (0.6 ms against 0.06). Unsorted, its text is one of a few
  // per record type (a typed identifier or any): a named statement, planned once per connection. Sorted, the
  // texts are too many to keep.
  const rows = p.sort.length === 0
    ? await pgAll<DataRow>(pool, pgText(text), values)
    : await run<DataRow>(pool, text, values);
  return rows.length > p.pageSize ? undefined : rows.map(fromRow);
}

/** The bounded count and the page of a search (search.ts readMatches, on one snapshot). */
async function readMatches(
  client: PgClient,
  tighten: Tighten,
  ctx: PgSearchContext,
  q: PreparedItem,
  where: Compiled,
): Promise<ItemPage> {
  const base = searchFrom(where, q.recordType.storage, q.sql.groupStorage);
  const [{ n }] = await run<{ n: number }>(
    client,
    `SELECT COUNT(*) AS n FROM (SELECT 1 ${base} LIMIT ?) s`,
    [...where.params, ctx.maxResults + 1],
  );
  const total = Number(n);
  if (total > ctx.maxResults) throw tooMany(ctx.maxResults);
  if (q.oneRecordSort !== undefined && total > 1) throw oneRecordSortRefusal(q.oneRecordSort, total);
  if (q.offset >= total) return { total, records: [] };
  await tighten();
  const keyset = q.after ? afterCursor(q.sort, q.after, "postgres") : undefined;
  const keys = q.sort.map((k, i) => `, ${k.sql} AS k${i}`).join("");
  // The page's rows carry their data: one statement instead of the page and then its rows.
  const rows = await run<DataRow & Record<string, string | number | null>>(
    client,
    `${withDataFrom(base, keys)}${keyset ? ` AND ${keyset.sql}` : ""} ` +
      `ORDER BY ${orderBy(q.sort, "postgres")} LIMIT ? OFFSET ?`,
    [...where.params, ...(keyset?.params ?? []), q.pageSize + 1, q.offset],
  );
  const nextCursor = nextCursorOf(
    q.sort,
    rows.map((r) => [r.id, ...q.sort.map((_, i) => r[`k${i}`])]),
    q.pageSize,
  );
  const regs = rows.slice(0, q.pageSize).map(fromRow);
  // Only a group's records read more (its members): a person's page is mapped without a statement.
  if (q.recordType.kind === "group" && regs.length > 0) await tighten();
  return {
    total,
    records: await recordsOf(client, q.profile, q.recordType, regs),
    ...(nextCursor ? { nextCursor } : {}),
  };
}

/** The DCI records of stored registrants (a group's with the members it lists: search_members.ts). */
export async function recordsOf(
  db: PgQueryable,
  profile: RegistryProfile,
  recordType: RecordTypeDef,
  regs: StoredRegistrant[],
): Promise<Record<string, unknown>[]> {
  if (recordType.kind !== "group" || regs.length === 0) return toRecords(profile, recordType, regs);
  const members = new Map<number, ListedMembers>();
  for (const g of regs) members.set(g.id, await listGroup(g.id, pgListingReads(db)));
  return toRecords(profile, recordType, regs, members);
}

const MEMBERS_SQL = pgText(membersSql(""));
const CENSUS_SQL = pgText(censusSql(""));
const BY_ID_SQL = pgText(SQL.byId);

/** A group listing's reads on `db` (search_members.ts). */
export function pgListingReads(db: PgQueryable): ListingReads {
  return {
    members: (id) => pgAll<MemberRow>(db, MEMBERS_SQL, [id]),
    census: async (id) => (await pgAll<Census>(db, CENSUS_SQL, [id]))[0],
    row: async (id) => (await pgAll<MemberRow>(db, BY_ID_SQL, [id]))[0],
  };
}
