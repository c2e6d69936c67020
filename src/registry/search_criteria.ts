/**
 * Reading the parts of `search_criteria` around the query: registry type, record type, sort and pagination
 * (with the keyset cursor of search_cursor.ts). Each throws ItemRejection with the item's reason code.
 */
import { attributeOf, type RecordType } from "./attributes.ts";
import { show } from "./query_parse.ts";
import { identifierType } from "./query_sql.ts";
import { type CursorPosition, decodeCursor, type SortKey } from "./search_cursor.ts";
import type { RecordTypeDef, RegistryProfile } from "../registries/profile.ts";
import { isRegType, recordTypeNamed } from "../registries/index.ts";

/** A per-item rejection of a search (its code is a SearchStatusReasonCode). */
export class ItemRejection extends Error {
  constructor(
    readonly code:
      | "rjct.reference_id.invalid"
      | "rjct.timestamp.invalid"
      | "rjct.search_criteria.invalid"
      | "rjct.sort.invalid"
      | "rjct.pagination.invalid"
      | "rjct.search.too_many_records_found",
    message: string,
  ) {
    super(message);
  }
}

const MAX_SORT = 5;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Accepts an absent reg_type or one naming the registry of the path (`profile`), case-insensitively after the
 * last `:`: its regType (the spec's `ns:org:RegistryType:Social`), its aliases (`social`, `SOCIAL_REGISTRY`),
 * and the names of its record types that clients send as a registry type (OpenSPP
 * `SPP:RegistryType:Individual|Group`, OpenG2P `Individual`), which also choose the record type when
 * `reg_record_type` is absent.
 */
export function regTypeRecordType(raw: unknown, profile: RegistryProfile): RecordTypeDef | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (isRegType(profile, raw)) return undefined;
  const named = recordTypeNamed(profile, raw);
  if (named) return named;
  throw new ItemRejection(
    "rjct.search_criteria.invalid",
    `reg_type ${show(raw)} is not served here (${profile.name})`,
  );
}

/**
 * The record type of `profile` a search returns: reg_record_type, response_entity or the expression's
 * collection (the registry's first record type when none is named).
 */
export function recordTypeOf(raw: unknown, profile: RegistryProfile): RecordTypeDef {
  if (raw === undefined || raw === null || raw === "") return profile.recordTypes[0];
  const named = recordTypeNamed(profile, raw);
  if (named) return named;
  throw new ItemRejection(
    "rjct.search_criteria.invalid",
    `record type ${show(raw)} is not ${profile.recordTypes.map((rt) => rt.names[0]).join(" or ")}`,
  );
}

/** What a sort key may name besides the record type's own columns. */
export interface SortContext {
  recordType: RecordType;
  /** The storage type of the registry's households (a person's household columns are read through it). */
  groupStorage: string;
  /** The registry has no households (its persons have no household columns). */
  noHouseholds: boolean;
  /** The registry's own identifier types (`FARMER_ID`), beside the core ones. */
  idTypes: readonly string[];
}

/**
 * The sort keys (allowlisted columns, or a person's household column such as `poverty_score`), before the final
 * `r.id`; and `oneRecord`, the first identifier type named (`UIN`, the spec's example): an identifier type is
 * not a column, so it orders nothing but a single match (a live identifier names one record, so an idtype-value
 * lookup is always one); a search that finds more is refused then (`oneRecordSortRefusal`).
 */
export function sortOf(raw: unknown, ctx: SortContext): { sort: SortKey[]; oneRecord?: string } {
  if (raw === undefined || raw === null) return { sort: [] };
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > MAX_SORT) throw new ItemRejection("rjct.sort.invalid", `at most ${MAX_SORT} sort keys`);
  const sort: SortKey[] = [];
  let oneRecord: string | undefined;
  for (const s of list) {
    const name = isObj(s) ? s.attribute_name : undefined;
    const order = isObj(s) ? s.sort_order : undefined;
    const dir = order === undefined || order === null
      ? "asc"
      : typeof order === "string"
      ? order.toLowerCase()
      : undefined;
    const key = typeof name === "string" ? sortKeyOf(name, ctx) : undefined;
    if (key === undefined) {
      throw new ItemRejection("rjct.sort.invalid", `cannot sort ${ctx.recordType} records by ${show(name)}`);
    }
    if (dir !== "asc" && dir !== "desc") {
      throw new ItemRejection(
        "rjct.sort.invalid",
        `sort_order ${show(isObj(s) ? order : s)} is not asc|desc`,
      );
    }
    if (typeof key === "string") oneRecord ??= key;
    else sort.push({ ...key, desc: dir === "desc" });
  }
  return oneRecord === undefined ? { sort } : { sort, oneRecord };
}

/** A sort key's column and SQL, the identifier type's name for an identifier type, or undefined. */
function sortKeyOf(name: string, ctx: SortContext): { column: string; sql: string } | string | undefined {
  const def = attributeOf(name);
  if (def?.sortable && def.on.includes(ctx.recordType)) return { column: def.column, sql: `r.${def.column}` };
  if (def?.sortable && def.viaGroup && ctx.recordType === "person" && !ctx.noHouseholds) {
    // A subquery, not the search's join of the household (present only when the filter reads one): the page
    // reads it once a row by the household's primary key. Its storage type is the profile's constant.
    const household = `SELECT sg.${def.column} FROM registrants sg WHERE sg.id = r.group_id AND ` +
      `sg.record_type = '${ctx.groupStorage}' AND sg.deleted_at IS NULL`;
    return { column: def.column, sql: `(${household})` };
  }
  if (def) return undefined;
  try {
    return identifierType(name, ctx.idTypes) === undefined ? undefined : name.trim();
  } catch {
    return undefined; // `identifier.<not a type>`
  }
}

/** The refusal of a sort by an identifier type (`oneRecord` of sortOf) when the search found `total` records. */
export function oneRecordSortRefusal(oneRecord: string, total: number): ItemRejection {
  return new ItemRejection(
    "rjct.sort.invalid",
    `cannot sort ${total} records by ${show(oneRecord)}: an identifier type orders a single match only ` +
      `(an idtype-value lookup, or a filter naming one identifier); sort by a record attribute instead`,
  );
}

/** The requested page: size, number, and the keyset position of `pagination.cursor` when sent. */
export function paginationOf(
  raw: unknown,
  maxPageSize: number,
  sort: SortKey[],
): { pageSize: number; pageNumber: number; after?: CursorPosition } {
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
  const page = { pageSize: Math.min(size, maxPageSize), pageNumber: number };
  if (raw.cursor === undefined || raw.cursor === null || raw.cursor === "") return page;
  const after = decodeCursor(raw.cursor, sort);
  if (!after) {
    throw new ItemRejection(
      "rjct.pagination.invalid",
      "pagination.cursor is not a next_cursor this server issued for this sort order",
    );
  }
  return { ...page, after };
}
