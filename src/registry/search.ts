/** Answering one DCI search item: validate, compile, count, fetch a page and map records. */
import type { Db } from "../db/sqlite.ts";
import { parseQuery, QueryError, show } from "./query_parse.ts";
import { type Compiled, searchFrom, toSql } from "./query_sql.ts";
import { fromRow, REGISTRANT_SELECT, type StoredRegistrant } from "./store.ts";
import { stmt } from "../db/statements.ts";
import { BudgetExceeded, type StatementBudget, withStatementBudget } from "../db/budget.ts";
import { HEADER_SAFE_ID_RULE, isHeaderSafeId } from "../dci/limits.ts";
import { ItemRejection, paginationOf, recordTypeOf, regTypeRecordType, sortOf } from "./search_criteria.ts";
import type { RecordTypeDef, RegistryProfile } from "../registries/profile.ts";
import { groupStorageOf, socialRegistry } from "../registries/index.ts";
import { afterCursor, type CursorPosition, encodeCursor, orderBy, type SortKey } from "./search_cursor.ts";
import { valueEstimator } from "./query_intersect.ts";
import { identifierPage } from "./search_lookup.ts";
import { denseRange } from "./search_dense.ts";

export { recordTypeOf } from "./search_criteria.ts";

/** Per-item reason codes of a search. */
export type SearchRjctCode =
  | "rjct.reference_id.invalid"
  | "rjct.reference_id.duplicate"
  | "rjct.timestamp.invalid"
  | "rjct.search_criteria.invalid"
  | "rjct.filter.invalid"
  | "rjct.sort.invalid"
  | "rjct.pagination.invalid"
  | "rjct.search.too_many_records_found";

/** One answered search item (the `search_response[]` entry). */
export interface SearchResponseItem {
  reference_id: string;
  timestamp: string;
  status: "succ" | "rjct";
  status_reason_code?: SearchRjctCode;
  status_reason_message?: string;
  data?: {
    version: string;
    reg_type: string;
    reg_record_type: string;
    reg_records: Record<string, unknown>[];
  };
  /** `next_cursor` (beside the spec's fields; its Pagination schema allows more): the cursor of the next page. */
  pagination?: { page_size: number; page_number: number; total_count: number; next_cursor?: string };
  locale?: string;
}

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

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The item's reference_id if it is a valid one (a number, or 1..99 printable ASCII), else undefined. */
export function referenceIdOf(item: unknown): string | undefined {
  const r = isObj(item) ? item.reference_id : undefined;
  if (typeof r === "number" && Number.isFinite(r)) return String(r);
  return isHeaderSafeId(r) ? r : undefined;
}

/** A rejected item (without a code when the reason is a header-level one: the item enum does not have it). */
export function rejectItem(
  item: unknown,
  code: SearchRjctCode | undefined,
  message: string,
  now: number,
): SearchResponseItem {
  const ref = isObj(item) && (typeof item.reference_id === "string" || typeof item.reference_id === "number")
    ? String(item.reference_id).slice(0, 99)
    : "";
  return {
    reference_id: ref,
    timestamp: new Date(now).toISOString(),
    status: "rjct",
    ...(code ? { status_reason_code: code } : {}),
    status_reason_message: message.slice(0, 999),
  };
}

/** Answers one search item of the registry `ctx.profile`; never throws for client mistakes. */
export function searchItem(ctx: SearchContext, item: unknown): SearchResponseItem {
  try {
    return runItem(ctx, item);
  } catch (err) {
    if (err instanceof QueryError) return rejectItem(item, err.code, err.message, ctx.now);
    if (err instanceof ItemRejection) return rejectItem(item, err.code, err.message, ctx.now);
    // The query would examine more records than the budget lets it read: the client's remedy is the one of
    // too_many_records_found (narrow the query); the filter itself is valid, so not filter.invalid.
    if (err instanceof BudgetExceeded) {
      return rejectItem(
        item,
        "rjct.search.too_many_records_found",
        `search stopped: it used up the request's ${err.budgetMs} ms time budget examining records; ` +
          "narrow the query (an identifier, a date range, a place) or send its items in separate requests",
        ctx.now,
      );
    }
    throw err;
  }
}

function runItem(ctx: SearchContext, item: unknown): SearchResponseItem {
  if (!isObj(item)) throw new ItemRejection("rjct.search_criteria.invalid", "search item must be an object");
  const ref = referenceIdOf(item);
  if (ref === undefined) {
    throw new ItemRejection(
      "rjct.reference_id.invalid",
      `reference_id ${HEADER_SAFE_ID_RULE}`,
    );
  }
  if (
    typeof item.timestamp !== "string" || !DATE_TIME.test(item.timestamp) || isNaN(Date.parse(item.timestamp))
  ) {
    throw new ItemRejection(
      "rjct.timestamp.invalid",
      `timestamp ${show(item.timestamp)} is not ISO 8601 with zone`,
    );
  }
  const sc = item.search_criteria;
  if (!isObj(sc)) {
    throw new ItemRejection("rjct.search_criteria.invalid", "search_criteria must be an object");
  }
  const profile = ctx.profile ?? socialRegistry();
  const implied = regTypeRecordType(sc.reg_type, profile);
  const parsed = parseQuery(sc.query_type, sc.query);
  const named = sc.reg_record_type ?? sc.response_entity ?? parsed.collection;
  const recordType = named !== undefined && named !== null && named !== ""
    ? recordTypeOf(named, profile)
    : implied ?? profile.recordTypes[0];
  const sort = sortOf(sc.sort, recordType.kind);
  const { pageSize, pageNumber, after } = paginationOf(sc.pagination, ctx.maxPageSize, sort);
  const today = new Date(ctx.now).toISOString().slice(0, 10);
  const where = toSql(parsed.cond, {
    recordType: recordType.kind,
    storage: recordType.storage,
    groupStorage: groupStorageOf(profile),
    attributes: profile.attributes,
    idTypes: profile.idTypes,
    today,
    mode: "search",
    estimate: valueEstimator(ctx.db),
  });
  const read = () =>
    readMatches(ctx, {
      where,
      profile,
      recordType,
      sort,
      pageSize,
      offset: after ? 0 : (pageNumber - 1) * pageSize,
      after,
    });
  const lookup = sc.query_type === "idtype-value" && !after && pageNumber === 1
    ? identifierPage(ctx.db, {
      where,
      storage: recordType.storage,
      groupStorage: groupStorageOf(profile),
      sort,
      pageSize,
      budget: ctx.budget,
    })
    : undefined;
  const { total, records, nextCursor } = lookup
    ? { total: lookup.length, records: recordsOf(ctx.db, profile, recordType, lookup), nextCursor: undefined }
    : ctx.budget
    ? withStatementBudget(ctx.db, ctx.budget, read)
    : read();
  return {
    reference_id: ref,
    timestamp: new Date(ctx.now).toISOString(),
    status: "succ",
    data: {
      version: "1.0.0",
      reg_type: profile.regType,
      reg_record_type: recordType.names[0],
      reg_records: records,
    },
    pagination: {
      page_size: pageSize,
      page_number: pageNumber,
      total_count: total,
      ...(nextCursor ? { next_cursor: nextCursor } : {}),
    },
    ...(typeof item.locale === "string" && /^[a-z]{3}$/.test(item.locale) ? { locale: item.locale } : {}),
  };
}

/**
 * The count (up to maxResults + 1, else refused) and the requested page of a compiled search (after the
 * cursor's position when one was sent), with the cursor of the next page when more records follow.
 */
function readMatches(
  ctx: SearchContext,
  q: {
    where: Compiled;
    profile: RegistryProfile;
    recordType: RecordTypeDef;
    sort: SortKey[];
    pageSize: number;
    offset: number;
    after?: CursorPosition;
  },
): { total: number; records: Record<string, unknown>[]; nextCursor?: string } {
  const base = searchFrom(q.where, q.recordType.storage, groupStorageOf(q.profile));
  const params = q.where.params;
  const keyset = q.after ? afterCursor(q.sort, q.after) : undefined;
  const columns = ["r.id AS id", ...q.sort.map((k, i) => `r.${k.column} AS k${i}`)].join(", ");
  // One row past the page says whether a next page exists. all(), never iterate(): iterate() ends without an
  // error when a step fails in SQLite, and the page would come back cut short as if complete (src/db/budget.ts).
  // `ids`: read in row id order within (low, high] (search_dense.ts), not through an index.
  const page = (ids?: { low: number; high: number }) => {
    const from = ids
      ? `${
        searchFrom(q.where, q.recordType.storage, groupStorageOf(q.profile), true)
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
  const total = Number(
    (stmt(ctx.db, `SELECT COUNT(*) AS n FROM (SELECT 1 ${base} LIMIT ?+0)`)
      .get(...params, ctx.maxResults + 1) as { n: number }).n,
  );
  if (total > ctx.maxResults) {
    throw new ItemRejection(
      "rjct.search.too_many_records_found",
      `more than ${ctx.maxResults} records match; narrow the query`,
    );
  }
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
  const last = rows.length > q.pageSize ? rows[q.pageSize - 1] : undefined;
  const nextCursor = last ? encodeCursor(q.sort, last.slice(1), Number(last[0])) : undefined;
  const regs = fetchRows(ctx.db, rows.slice(0, q.pageSize).map((r) => Number(r[0]))).map(fromRow);
  return {
    total,
    records: recordsOf(ctx.db, q.profile, q.recordType, regs),
    ...(nextCursor ? { nextCursor } : {}),
  };
}

/** The DCI records of stored registrants (a group's with its members). */
function recordsOf(
  db: Db,
  profile: RegistryProfile,
  recordType: RecordTypeDef,
  regs: StoredRegistrant[],
): Record<string, unknown>[] {
  return recordType.kind === "group"
    ? withMembers(db, profile, recordType, regs)
    : regs.map((r) => profile.toRecord(r, recordType, { withContext: true }));
}

function withMembers(
  db: Db,
  profile: RegistryProfile,
  recordType: RecordTypeDef,
  groups: StoredRegistrant[],
): Record<string, unknown>[] {
  if (groups.length === 0) return [];
  const ids = groups.map((g) => g.id);
  const rows = stmt(
    db,
    `SELECT r.id, d.data, r.deleted_at, r.group_id FROM registrants r JOIN registrant_data d ON d.id = r.id
     WHERE r.group_id IN (${ids.map(() => "?").join(",")}) AND r.deleted_at IS NULL ORDER BY r.id`,
  ).all(...ids) as Array<{ id: number; data: string; deleted_at: null; group_id: number }>;
  const byGroup = new Map<number, StoredRegistrant[]>();
  for (const r of rows) {
    const list = byGroup.get(Number(r.group_id)) ?? [];
    list.push(fromRow(r));
    byGroup.set(Number(r.group_id), list);
  }
  return groups.map((g) =>
    profile.toRecord(g, recordType, { members: byGroup.get(g.id) ?? [], withContext: true })
  );
}

/** Rows of `ids` with their data, in the order of `ids`. */
function fetchRows(db: Db, ids: number[]): Array<{ id: number; data: string; deleted_at: null }> {
  if (ids.length === 0) return [];
  const rows = stmt(db, `${REGISTRANT_SELECT} WHERE r.id IN (${ids.map(() => "?").join(",")})`)
    .all(...ids) as Array<{ id: number; data: string; deleted_at: null }>;
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  return ids.map((id) => byId.get(id)!).filter(Boolean);
}
