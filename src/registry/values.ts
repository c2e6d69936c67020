/**
 * Registry-specific searchable values: the `registrant_values (attr, value, registrant_id)` table (migration
 * 0016) holds, for each attribute a registry profile declares (ProfileAttribute), the values its `values()`
 * extracts from a record, so every comparison of such an attribute is a range of the table's key. Written with
 * the record, in its transaction, by every writer (store.ts, fast_insert.ts), like registrant_contacts.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { Registrant } from "./model.ts";
import { nfc } from "./attributes.ts";
import { recordTypeOfStorage } from "../registries/index.ts";

/** The most values one record contributes (a farmer's crops, a person's vital events): bounds a write. */
export const MAX_VALUES_PER_RECORD = 500;

/**
 * A registrant's searchable values as flattened `[attr, value, attr, value, …]`, without repeats: each
 * attribute of its registry's profile that applies to its record type, through `values()`, except the unions
 * of others (`storedAs`). Empty for social.
 */
export function valuePairs(reg: Registrant): Array<string | number> {
  const found = recordTypeOfStorage(reg.recordType);
  if (!found || found.profile.attributes.length === 0) return [];
  const out: Array<string | number> = [];
  const seen = new Set<string>();
  for (const a of found.profile.attributes) {
    // A union attribute (storedAs) is answered from its parts' rows.
    if (!a.on.includes(reg.recordType) || a.storedAs) continue;
    for (const raw of a.values(reg)) {
      if (typeof raw === "number" ? !Number.isFinite(raw) : typeof raw !== "string" || raw === "") continue;
      // In NFC, as queries compare text (and core columns are stored): a decomposed place name still matches.
      const v = typeof raw === "string" ? nfc(raw) : raw;
      const key = `${a.name}\u0000${typeof v}\u0000${v}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(a.name, v);
      if (out.length >= MAX_VALUES_PER_RECORD * 2) return out;
    }
  }
  return out;
}

/**
 * The `[attr, value]` rows of `attrs` a writer stores for the record stored as `data` (its registrant's JSON):
 * what a migration writes for records stored before those attributes were searchable (0047), through valuePairs
 * itself, so both backends write exactly a writer's rows.
 */
export function storedValuesOf(data: string, attrs: ReadonlySet<string>): Array<[string, string | number]> {
  const pairs = valuePairs(JSON.parse(data) as Registrant);
  const out: Array<[string, string | number]> = [];
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    if (attrs.has(String(pairs[k]))) out.push([String(pairs[k]), pairs[k + 1]]);
  }
  return out;
}

/** Flattened pairs `[a, b, a, b, …]` (valuePairs, contactPairs) as a JSON array of pairs `[[a, b], …]`. */
export function pairsJson(flat: Array<string | number>): string {
  const out: Array<Array<string | number>> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return JSON.stringify(out);
}

/**
 * Writes the values of registrant `id`, removing those of the record it replaces (`before`, as stored), inside
 * the caller's transaction.
 */
export function writeValues(
  db: Db,
  id: number,
  pairs: Array<string | number>,
  before: Array<string | number> = [],
): void {
  if (before.length > 0) {
    const remove = stmt(
      db,
      "DELETE FROM registrant_values WHERE attr = ? AND value = ? AND registrant_id = ?",
    );
    for (let k = 0; k < before.length; k += 2) remove.run(before[k], before[k + 1], id);
  }
  if (pairs.length > 0) {
    const insert = stmt(
      db,
      "INSERT OR IGNORE INTO registrant_values (attr, value, registrant_id) VALUES (?, ?, ?)",
    );
    for (let k = 0; k < pairs.length; k += 2) insert.run(pairs[k], pairs[k + 1], id);
  }
}
