/** Answering one DCI search item: validate, compile, count, fetch a page and map records. */
import type { Db } from "../db/sqlite.ts";
import { attributeOf, type RecordType } from "./attributes.ts";
import { parseQuery, QueryError, show } from "./query_parse.ts";
import { type Compiled, searchFrom, toSql } from "./query_sql.ts";
import { fromRow, REGISTRANT_SELECT, type StoredRegistrant } from "./store.ts";
import { toDciGroup, toDciPerson } from "./mapping.ts";
import { stmt } from "../db/statements.ts";
import { BudgetExceeded, type StatementBudget, withStatementBudget } from "../db/budget.ts";
import { HEADER_SAFE_ID_RULE, isHeaderSafeId } from "../dci/limits.ts";
import { recordTypeName, REG_TYPE_NAMES } from "../dci/vocabulary.ts";

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
  pagination?: { page_size: number; page_number: number; total_count: number };
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
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const REG_TYPE = REG_TYPE_NAMES.social;
const MAX_SORT = 5;

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

/** Answers one search item of the social registry; never throws for client mistakes. */
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

class ItemRejection extends Error {
  constructor(readonly code: SearchRjctCode, message: string) {
    super(message);
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
  checkRegType(sc.reg_type);
  const parsed = parseQuery(sc.query_type, sc.query);
  const recordType = recordTypeOf(sc.reg_record_type ?? sc.response_entity ?? parsed.collection);
  const order = sortOf(sc.sort, recordType);
  const { pageSize, pageNumber } = paginationOf(sc.pagination, ctx.maxPageSize);
  const today = new Date(ctx.now).toISOString().slice(0, 10);
  const where = toSql(parsed.cond, { recordType, today, mode: "search" });
  const read = () =>
    readMatches(ctx, {
      where,
      recordType,
      order,
      pageSize,
      offset: (pageNumber - 1) * pageSize,
      identifierLookup: sc.query_type === "idtype-value",
    });
  const { total, records } = ctx.budget ? withStatementBudget(ctx.db, ctx.budget, read) : read();
  return {
    reference_id: ref,
    timestamp: new Date(ctx.now).toISOString(),
    status: "succ",
    data: {
      version: "1.0.0",
      reg_type: REG_TYPE,
      reg_record_type: recordTypeName(recordType),
      reg_records: records,
    },
    pagination: { page_size: pageSize, page_number: pageNumber, total_count: total },
    ...(typeof item.locale === "string" && /^[a-z]{3}$/.test(item.locale) ? { locale: item.locale } : {}),
  };
}

/** The count (up to maxResults + 1, else refused) and the requested page of a compiled search. */
function readMatches(
  ctx: SearchContext,
  q: {
    where: Compiled;
    recordType: RecordType;
    order: string;
    pageSize: number;
    offset: number;
    identifierLookup: boolean;
  },
): { total: number; records: Record<string, unknown>[] } {
  const base = searchFrom(q.where, q.recordType);
  const params = q.where.params;
  // iterate(), not all(): Deno's all() steps again after an error, which restarts the statement, so a budget
  // abort became an endless loop (src/db/budget.ts).
  const page = () =>
    Array.from(
      stmt(ctx.db, `SELECT r.id ${base} ORDER BY ${q.order} LIMIT ?+0 OFFSET ?+0`)
        .iterate(...params, q.pageSize, q.offset),
      (r) => Number((r as { id: number }).id),
    );
  // An identifier lookup matches a handful of rows: its first page, when not full, is the count too. Broad
  // queries count first (bounded by maxResults + 1), so a refused one never sorts all its matches.
  let ids = q.identifierLookup && q.offset === 0 ? page() : undefined;
  const total = ids && ids.length < q.pageSize ? ids.length : Number(
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
  ids ??= page();
  const regs = fetchRows(ctx.db, ids).map(fromRow);
  return {
    total,
    records: q.recordType === "group" ? withMembers(ctx.db, regs) : regs.map((r) => toDciPerson(r)),
  };
}

function withMembers(db: Db, groups: StoredRegistrant[]): Record<string, unknown>[] {
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
  return groups.map((g) => toDciGroup(g, byGroup.get(g.id) ?? []));
}

/** Rows of `ids` with their data, in the order of `ids`. */
function fetchRows(db: Db, ids: number[]): Array<{ id: number; data: string; deleted_at: null }> {
  if (ids.length === 0) return [];
  const rows = stmt(db, `${REGISTRANT_SELECT} WHERE r.id IN (${ids.map(() => "?").join(",")})`)
    .all(...ids) as Array<{ id: number; data: string; deleted_at: null }>;
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  return ids.map((id) => byId.get(id)!).filter(Boolean);
}

/** Accepts an absent reg_type or one naming the social registry (`social`, `ns:org:RegistryType:Social`). */
function checkRegType(raw: unknown): void {
  if (raw === undefined || raw === null || raw === "") return;
  const last = typeof raw === "string" ? raw.trim().toLowerCase().split(":").pop() ?? "" : "";
  // "individual": OpenSPP's SPP:RegistryType:Individual (the social registry's persons, the default record type).
  const ok = ["social", "sr", "social_registry", "socialregistry", "social-registry", "individual"].includes(
    last,
  );
  if (!ok) {
    throw new ItemRejection(
      "rjct.search_criteria.invalid",
      `reg_type ${show(raw)} is not served here (social)`,
    );
  }
}

/** The record type a search returns: reg_record_type, response_entity or the expression's collection. */
export function recordTypeOf(raw: unknown): RecordType {
  if (raw === undefined || raw === null || raw === "") return "person";
  const t = typeof raw === "string" ? raw.trim().toLowerCase().split(":").pop() : undefined;
  if (t === "group" || t === "household" || t === "srgroup") return "group";
  if (t === "person" || t === "srperson" || t === "member" || t === "individual") return "person";
  throw new ItemRejection("rjct.search_criteria.invalid", `record type ${show(raw)} is not Person or Group`);
}

function sortOf(raw: unknown, recordType: RecordType): string {
  if (raw === undefined || raw === null) return "r.id";
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > MAX_SORT) throw new ItemRejection("rjct.sort.invalid", `at most ${MAX_SORT} sort keys`);
  const parts = list.map((s) => {
    const name = isObj(s) ? s.attribute_name : undefined;
    const def = typeof name === "string" ? attributeOf(name) : undefined;
    if (!def || !def.sortable || !def.on.includes(recordType)) {
      throw new ItemRejection("rjct.sort.invalid", `cannot sort ${recordType} records by ${show(name)}`);
    }
    const raw = isObj(s) ? s.sort_order : undefined;
    const dir = raw === undefined ? "asc" : typeof raw === "string" ? raw.toLowerCase() : undefined;
    if (dir !== "asc" && dir !== "desc") {
      throw new ItemRejection(
        "rjct.sort.invalid",
        `sort_order ${show(isObj(s) ? s.sort_order : s)} is not asc|desc`,
      );
    }
    return `r.${def.column} ${dir === "asc" ? "ASC" : "DESC"}`;
  });
  return [...parts, "r.id"].join(", ");
}

function paginationOf(raw: unknown, maxPageSize: number): { pageSize: number; pageNumber: number } {
  if (raw === undefined || raw === null) return { pageSize: maxPageSize, pageNumber: 1 };
  if (!isObj(raw)) throw new ItemRejection("rjct.pagination.invalid", "pagination must be an object");
  const int = (v: unknown, fallback: number) => {
    if (v === undefined || v === null) return fallback;
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isInteger(n) && n >= 1 && n <= 1_000_000_000 ? n : NaN;
  };
  const size = int(raw.page_size, maxPageSize);
  const number = int(raw.page_number, 1);
  if (Number.isNaN(size)) {
    throw new ItemRejection(
      "rjct.pagination.invalid",
      `page_size ${show(raw.page_size)} must be an integer ≥ 1`,
    );
  }
  if (Number.isNaN(number)) {
    throw new ItemRejection(
      "rjct.pagination.invalid",
      `page_number ${show(raw.page_number)} must be an integer ≥ 1`,
    );
  }
  return { pageSize: Math.min(size, maxPageSize), pageNumber: number };
}
