/**
 * Cursor pagination: `pagination.next_cursor` names the last record of a page by its sort key values and row
 * id, and `pagination.cursor` asks for the records after it (a keyset: `(key, id) > (last key, last id)` in the
 * sort order). Unlike an offset, a keyset page neither repeats nor skips a record when records are inserted
 * or deleted between pages.
 *
 * The cursor is opaque to clients: base64url of `{"s": sort, "v": [key values…, id]}`. It is not signed: a
 * forged one only chooses a starting point, which page_number already lets any client do. What comes back is
 * validated (length, alphabet, JSON shape, value types, the sort it was issued for) and its values are only
 * ever bound parameters; anything else is rjct.pagination.invalid, never SQL text or an error 500.
 */
import { MAX_CURSOR_LENGTH } from "../dci/limits.ts";
import { type Dialect, mark } from "./query_dialect.ts";

/** One sort key: an allowlisted attribute, the SQL that reads it for a row of `registrants r`, its direction. */
export interface SortKey {
  /** The attribute's column (in its own record type's row): what a cursor is issued for. */
  column: string;
  /** `r.<column>`, or a person's household column read through `group_id` (constant SQL, never user input). */
  sql: string;
  desc: boolean;
}

/** A keyset position: the sort key values and row id of the last record seen. */
export interface CursorPosition {
  values: Array<string | number | null>;
  id: number;
}

export { MAX_CURSOR_LENGTH };

function signature(sort: SortKey[]): string {
  return sort.map((k) => `${k.column}${k.desc ? "-" : "+"}`).join(",");
}

/** The next_cursor for the record with `values` (its sort key values) and row id `id`. */
export function encodeCursor(sort: SortKey[], values: Array<string | number | null>, id: number): string {
  const json = JSON.stringify({ s: signature(sort), v: [...values, id] });
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(json)));
  return b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The position a cursor names, or undefined when it is not one issued for `sort`. */
export function decodeCursor(raw: unknown, sort: SortKey[]): CursorPosition | undefined {
  if (typeof raw !== "string" || raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) {
    return undefined;
  }
  let parsed: unknown;
  try {
    const bin = atob(raw.replace(/-/g, "+").replace(/_/g, "/"));
    parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))),
    );
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { s, v } = parsed as { s?: unknown; v?: unknown };
  if (s !== signature(sort) || !Array.isArray(v) || v.length !== sort.length + 1) return undefined;
  const id = v[sort.length];
  if (!Number.isSafeInteger(id) || (id as number) < 1) return undefined;
  const values = v.slice(0, sort.length);
  const ok = values.every((x) =>
    x === null || (typeof x === "string" && x.length <= 1024) || (typeof x === "number" && Number.isFinite(x))
  );
  return ok ? { values: values as CursorPosition["values"], id: id as number } : undefined;
}

/**
 * `ORDER BY` of a search: the sort keys, then the row id. NULLs sort as SQLite sorts them (first ascending, last
 * descending) on PostgreSQL too, whose default is the other way round.
 */
export function orderBy(sort: SortKey[], dialect?: Dialect): string {
  const nulls = (desc: boolean) => dialect === "postgres" ? (desc ? " NULLS LAST" : " NULLS FIRST") : "";
  return [...sort.map((k) => `${k.sql} ${k.desc ? "DESC" : "ASC"}${nulls(k.desc)}`), "r.id"].join(", ");
}

/**
 * The keyset condition "after `pos` in `sort` order" and its parameters. SQLite sorts NULL first ascending and
 * last descending; `IS` compares NULLs as equal.
 */
export function afterCursor(
  sort: SortKey[],
  pos: CursorPosition,
  dialect?: Dialect,
): { sql: string; params: Array<string | number> } {
  const params: Array<string | number> = [];
  const branches: string[] = [];
  for (let i = 0; i <= sort.length; i++) {
    const terms: string[] = [];
    const bound: Array<string | number> = [];
    for (let j = 0; j < i; j++) {
      const v = pos.values[j];
      if (v === null) terms.push(`${sort[j].sql} IS NULL`);
      else {
        terms.push(`${sort[j].sql} = ${mark(dialect, v)}`);
        bound.push(v);
      }
    }
    if (i === sort.length) {
      terms.push("r.id > ?");
      bound.push(pos.id);
    } else {
      const { sql: column, desc } = sort[i];
      const v = pos.values[i];
      if (v === null) {
        if (desc) continue; // nothing sorts after NULL descending
        terms.push(`${column} IS NOT NULL`);
      } else {
        const m = mark(dialect, v);
        terms.push(desc ? `(${column} < ${m} OR ${column} IS NULL)` : `${column} > ${m}`);
        bound.push(v);
      }
    }
    branches.push(`(${terms.join(" AND ")})`);
    params.push(...bound);
  }
  return { sql: `(${branches.join(" OR ")})`, params };
}
