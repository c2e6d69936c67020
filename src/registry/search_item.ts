/**
 * The parts of answering a search item that do not depend on the database: validating the item and its criteria,
 * parsing the query, the page asked for, the answer and the records it carries, and the rejections. The SQLite
 * path (search.ts, synchronous, in the search pool) and the PostgreSQL one (pg_search.ts) differ only in how they
 * run the compiled statements.
 */
import { type Cond, parseQuery, QueryError, show } from "./query_parse.ts";
import type { SqlContext } from "./query_sql.ts";
import type { StoredRegistrant } from "./store.ts";
import { type ListedMembers, withListed } from "./search_members.ts";
import { BudgetExceeded } from "../db/budget.ts";
import { HEADER_SAFE_ID_RULE, isHeaderSafeId } from "../dci/limits.ts";
import { isZonedTimestamp } from "../dci/schemas.ts";
import {
  ItemRejection,
  oneRecordSortRefusal,
  paginationOf,
  recordTypeOf,
  regTypeRecordType,
  sortOf,
} from "./search_criteria.ts";
import type { RecordTypeDef, RegistryProfile } from "../registries/profile.ts";
import { groupStorageOf, hasHouseholds, socialRegistry } from "../registries/index.ts";
import { type CursorPosition, encodeCursor, type SortKey } from "./search_cursor.ts";

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

/** What validating an item depends on. */
export interface ItemSettings {
  maxPageSize: number;
  /** Epoch ms now (responses' timestamps and `age`). */
  now: number;
  /** The registry of the request's path (social when not given). */
  profile?: RegistryProfile;
}

/** A valid search item, ready to compile and run. */
export interface PreparedItem {
  ref: string;
  profile: RegistryProfile;
  recordType: RecordTypeDef;
  cond: Cond;
  /** The compilation context, but for the backend's parts (its dialect and row estimates). */
  sql: SqlContext;
  sort: SortKey[];
  /** An identifier type named as a sort key: the search is refused when it finds more than one record. */
  oneRecordSort?: string;
  pageSize: number;
  pageNumber: number;
  /** Rows skipped before the page (0 after a cursor). */
  offset: number;
  after?: CursorPosition;
  /** The first page of an identifier lookup: answered by one statement (search_lookup.ts). */
  lookup: boolean;
  locale?: string;
}

/** The rows of a search's page, and how many match. */
export interface ItemPage {
  total: number;
  records: Record<string, unknown>[];
  nextCursor?: string;
}

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

/** The answer to an item whose reference_id `ref` repeats an earlier item's of its message (or bulk file). */
export function duplicateReference(item: unknown, ref: string, now: number): SearchResponseItem {
  return rejectItem(item, "rjct.reference_id.duplicate", `reference_id ${JSON.stringify(ref)} repeats`, now);
}

/** The answer to `item` when answering it threw `err` for a client mistake or the budget; rethrows anything else. */
export function rejectionOf(err: unknown, item: unknown, now: number): SearchResponseItem {
  if (err instanceof QueryError) return rejectItem(item, err.code, err.message, now);
  if (err instanceof ItemRejection) return rejectItem(item, err.code, err.message, now);
  // The query would examine more records than the budget lets it read: the client's remedy is the one of
  // too_many_records_found (narrow the query); the filter itself is valid, so not filter.invalid.
  if (err instanceof BudgetExceeded) {
    return rejectItem(
      item,
      "rjct.search.too_many_records_found",
      `search stopped: it used up the request's ${err.budgetMs} ms time budget examining records; ` +
        "narrow the query (an identifier, a date range, a place) or send its items in separate requests",
      now,
    );
  }
  throw err;
}

/** Validates `item` and parses its query (throws ItemRejection or QueryError). */
export function prepareItem(ctx: ItemSettings, item: unknown): PreparedItem {
  if (!isObj(item)) throw new ItemRejection("rjct.search_criteria.invalid", "search item must be an object");
  const ref = referenceIdOf(item);
  if (ref === undefined) {
    throw new ItemRejection("rjct.reference_id.invalid", `reference_id ${HEADER_SAFE_ID_RULE}`);
  }
  if (!isZonedTimestamp(item.timestamp)) {
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
  const groupStorage = groupStorageOf(profile);
  const noHouseholds = !hasHouseholds(profile);
  const { sort, oneRecord } = sortOf(sc.sort, {
    recordType: recordType.kind,
    groupStorage,
    noHouseholds,
    idTypes: profile.idTypes,
  });
  const { pageSize, pageNumber, after } = paginationOf(sc.pagination, ctx.maxPageSize, sort);
  return {
    ref,
    profile,
    recordType,
    cond: parsed.cond,
    sql: {
      recordType: recordType.kind,
      storage: recordType.storage,
      groupStorage,
      noHouseholds,
      attributes: profile.attributes,
      idTypes: profile.idTypes,
      today: new Date(ctx.now).toISOString().slice(0, 10),
      mode: "search",
    },
    sort,
    ...(oneRecord === undefined ? {} : { oneRecordSort: oneRecord }),
    pageSize,
    pageNumber,
    offset: after ? 0 : (pageNumber - 1) * pageSize,
    ...(after ? { after } : {}),
    lookup: sc.query_type === "idtype-value" && !after && pageNumber === 1,
    ...(typeof item.locale === "string" && /^[a-z]{3}$/.test(item.locale) ? { locale: item.locale } : {}),
  };
}

/** The refusal of a query matching more than `maxResults` records. */
export function tooMany(maxResults: number): ItemRejection {
  return new ItemRejection(
    "rjct.search.too_many_records_found",
    `more than ${maxResults} records match; narrow the query`,
  );
}

/**
 * The next_cursor after a page read one row past its size (`rows`: the row id then the sort key values), or
 * undefined when no row follows.
 */
export function nextCursorOf(sort: SortKey[], rows: unknown[][], pageSize: number): string | undefined {
  const last = rows.length > pageSize ? rows[pageSize - 1] : undefined;
  return last ? encodeCursor(sort, last.slice(1) as CursorPosition["values"], Number(last[0])) : undefined;
}

/** The DCI records of stored registrants (a group's with the members it lists, by group row id: search_members.ts). */
export function toRecords(
  profile: RegistryProfile,
  recordType: RecordTypeDef,
  regs: StoredRegistrant[],
  members?: Map<number, ListedMembers>,
): Record<string, unknown>[] {
  if (recordType.kind !== "group") {
    return regs.map((r) => profile.toRecord(r, recordType, { withContext: true }));
  }
  return regs.map((g) => {
    const listed = members?.get(g.id) ?? { members: [] };
    return profile.toRecord(withListed(g, listed), recordType, {
      members: listed.members,
      withContext: true,
    });
  });
}

/** The succ answer of a prepared item. */
export function answerOf(p: PreparedItem, now: number, page: ItemPage): SearchResponseItem {
  if (p.oneRecordSort !== undefined && page.total > 1) {
    throw oneRecordSortRefusal(p.oneRecordSort, page.total);
  }
  return {
    reference_id: p.ref,
    timestamp: new Date(now).toISOString(),
    status: "succ",
    data: {
      version: "1.0.0",
      reg_type: p.profile.regType,
      reg_record_type: p.recordType.names[0],
      reg_records: page.records,
    },
    pagination: {
      page_size: p.pageSize,
      page_number: p.pageNumber,
      total_count: page.total,
      ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
    },
    ...(p.locale ? { locale: p.locale } : {}),
  };
}
