/**
 * The registry browser's search (console, admin API `?q=`): a registrant found by its id or any identifier value
 * exactly, or persons by family name prefix (case-insensitive), paged by keyset on (surname, row id) so a page
 * reads only its own rows of the registry's NOCASE surname index, whatever the registry's size.
 */
import { Buffer } from "node:buffer";
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { fromRow, REGISTRANT_SELECT, type StoredRegistrant } from "./store.ts";

/** Longest search text. */
export const MAX_BROWSE_QUERY = 100;

/** A page of matches and the cursor of the next one (null at the end). */
export interface BrowsePage {
  items: StoredRegistrant[];
  next_after: string | null;
}

type Row = { id: number; data: string; deleted_at: string | null; surname?: string };

/**
 * Live registrants of `profile` matching `q`: first (on the first page) those whose id or an identifier value is
 * exactly `q`, then persons whose surname starts with `q` in name order. "Given Surname" (two words or more)
 * matches the last word as surname prefix and the first as given name prefix.
 */
export function browseRegistrants(
  db: Db,
  profile: RegistryProfile,
  q: string,
  options: { after?: string; limit?: number } = {},
): BrowsePage {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
  const text = q.trim().slice(0, MAX_BROWSE_QUERY);
  if (text === "") return { items: [], next_after: null };
  const cursor = options.after ? decodeCursor(options.after) : undefined;
  const exact = options.after ? [] : exactMatches(db, profile, text);
  const seen = new Set(exact.map((r) => Number(r.id)));
  const words = text.split(/\s+/);
  const surname = words.at(-1)!;
  const given = words.length > 1 ? words[0] : undefined;
  const persons = profile.recordTypes.filter((t) => t.kind === "person").map((t) => t.storage);
  const rows: Row[] = [];
  for (const storage of persons) {
    rows.push(...surnameRange(db, storage, surname, given, cursor, limit + 1));
  }
  // Several person record types (rare): merge their ordered runs.
  rows.sort((a, b) => compareKey(a.surname!, a.id, b.surname!, b.id));
  const named = rows.filter((r) => !seen.has(Number(r.id)));
  const page = named.slice(0, limit);
  const last = page.at(-1);
  return {
    items: [...exact, ...page].map(fromRow),
    next_after: named.length > limit && last ? encodeCursor(last.surname!, Number(last.id)) : null,
  };
}

function exactMatches(db: Db, profile: RegistryProfile, text: string): Row[] {
  const byId = stmt(
    db,
    `${REGISTRANT_SELECT} WHERE r.external_id = ? AND r.registry = ? AND r.deleted_at IS NULL`,
  )
    .all(text, profile.name) as Row[];
  // identifiers' key leads with the value, so this is a point lookup whatever the type.
  const byIdentifier = stmt(
    db,
    `${REGISTRANT_SELECT} WHERE r.id IN (SELECT registrant_id FROM identifiers
       WHERE id_value = ? AND registry = ? AND live = 1) AND r.deleted_at IS NULL LIMIT 20`,
  ).all(text, profile.name) as Row[];
  const out = new Map<number, Row>();
  for (const r of [...byId, ...byIdentifier]) out.set(Number(r.id), r);
  return [...out.values()];
}

function surnameRange(
  db: Db,
  storage: string,
  prefix: string,
  given: string | undefined,
  cursor: { surname: string; id: number } | undefined,
  limit: number,
): Row[] {
  // The same predicate as the partial NOCASE surname index of every person record type (0014, indexes.ts).
  const sql = `SELECT r.id, d.data, r.deleted_at, r.surname FROM registrants r
    JOIN registrant_data d ON d.id = r.id
    WHERE r.record_type = ? AND r.deleted_at IS NULL AND r.surname IS NOT NULL
      AND r.surname COLLATE NOCASE >= ? AND r.surname COLLATE NOCASE < ?
      ${cursor ? "AND (r.surname COLLATE NOCASE, r.id) > (?, ?)" : ""}
      ${given ? "AND r.given_name LIKE ? ESCAPE '\\'" : ""}
    ORDER BY r.surname COLLATE NOCASE, r.id LIMIT ?+0`;
  const args: (string | number)[] = [storage, prefix, `${prefix}\u{10ffff}`];
  if (cursor) args.push(cursor.surname, cursor.id);
  if (given) args.push(`${given.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  return stmt(db, sql).all(...args, limit) as Row[];
}

function compareKey(sa: string, ia: number, sb: string, ib: number): number {
  const a = sa.toLowerCase();
  const b = sb.toLowerCase();
  return a < b ? -1 : a > b ? 1 : ia - ib;
}

function encodeCursor(surname: string, id: number): string {
  return Buffer.from(JSON.stringify([surname, id])).toString("base64url");
}

function decodeCursor(raw: string): { surname: string; id: number } | undefined {
  try {
    const [surname, id] = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    if (typeof surname === "string" && Number.isSafeInteger(id)) return { surname, id };
  } catch { /* a bad cursor starts from the beginning */ }
  return undefined;
}
