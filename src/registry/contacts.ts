/**
 * Phone numbers and e-mail addresses as search keys: the `registrant_contacts` table (migration 0014) holds
 * each registrant's contacts normalised, so `phone` and `email` are index lookups. Normalisation is the same
 * for stored values, query values and LIKE patterns (and the migration's backfill does the same in SQL):
 * a phone number loses spaces and `-().\/`; an e-mail address loses leading and trailing spaces; both are
 * lower-cased (ASCII letters only, as SQLite's lower() and NOCASE), so a phone number with letters (an extension,
 * a vanity number) matches whatever their case on both backends, in searches and subscription filters alike
 * (migration 0044 lower-cased the phone numbers stored before).
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { Registrant } from "./model.ts";

/** A contact kind. */
export type ContactKind = "phone" | "email";

/** The search key of a contact value. */
export function normaliseContact(kind: ContactKind, value: string): string {
  const kept = kind === "phone" ? value.replace(/[ \-().\/]/g, "") : value.replace(/^ +| +$/g, "");
  return kept.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** A registrant's contacts as flattened `[kind, value, kind, value, …]`, normalised and without repeats. */
export function contactPairs(reg: Pick<Registrant, "phones" | "emails">): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (kind: ContactKind, raw: string) => {
    const v = normaliseContact(kind, raw);
    if (v === "" || seen.has(`${kind}\u0000${v}`)) return;
    seen.add(`${kind}\u0000${v}`);
    out.push(kind, v);
  };
  for (const p of reg.phones ?? []) add("phone", p);
  for (const e of reg.emails ?? []) add("email", e);
  return out;
}

/**
 * Writes the contacts of registrant `id`, removing those of the record it replaces (`before`, as stored), inside
 * the caller's transaction.
 */
export function writeContacts(db: Db, id: number, pairs: string[], before: string[] = []): void {
  const remove = stmt(
    db,
    "DELETE FROM registrant_contacts WHERE kind = ? AND value = ? AND registrant_id = ?",
  );
  for (let k = 0; k < before.length; k += 2) remove.run(before[k], before[k + 1], id);
  const insert = stmt(
    db,
    "INSERT OR IGNORE INTO registrant_contacts (kind, value, registrant_id) VALUES (?, ?, ?)",
  );
  for (let k = 0; k < pairs.length; k += 2) insert.run(pairs[k], pairs[k + 1], id);
}
