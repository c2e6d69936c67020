/**
 * Reading the parts of `search_criteria` around the query: registry type, record type, sort and pagination
 * (with the keyset cursor of search_cursor.ts). Each throws ItemRejection with the item's reason code.
 */
import { attributeOf, type RecordType } from "./attributes.ts";
import { show } from "./query_parse.ts";
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

/** The sort keys (allowlisted columns), before the final `r.id`. */
export function sortOf(raw: unknown, recordType: RecordType): SortKey[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > MAX_SORT) throw new ItemRejection("rjct.sort.invalid", `at most ${MAX_SORT} sort keys`);
  return list.map((s) => {
    const name = isObj(s) ? s.attribute_name : undefined;
    const def = typeof name === "string" ? attributeOf(name) : undefined;
    if (!def || !def.sortable || !def.on.includes(recordType)) {
      throw new ItemRejection("rjct.sort.invalid", `cannot sort ${recordType} records by ${show(name)}`);
    }
    const order = isObj(s) ? s.sort_order : undefined;
    const dir = order === undefined ? "asc" : typeof order === "string" ? order.toLowerCase() : undefined;
    if (dir !== "asc" && dir !== "desc") {
      throw new ItemRejection(
        "rjct.sort.invalid",
        `sort_order ${show(isObj(s) ? order : s)} is not asc|desc`,
      );
    }
    return { column: def.column, desc: dir === "desc" };
  });
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
