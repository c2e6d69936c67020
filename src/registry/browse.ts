/**
 * The registry browser's search (console, admin API `?q=`): a registrant found by its id or any identifier value
 * exactly, or persons by family name prefix (case-insensitive), paged by keyset on (surname, row id) so a page
 * reads only its own rows of the registry's NOCASE surname index, whatever the registry's size.
 */
import { Buffer } from "node:buffer";
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { BudgetExceeded, budgetTerm, wallClockBudget, withStatementBudget } from "../db/budget.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { fromRow, REGISTRANT_SELECT, type StoredRegistrant } from "./store.ts";

/** Longest search text. */
export const MAX_BROWSE_QUERY = 100;

/**
 * A search whose name filter examined more rows than its time budget (DCI_SEARCH_BUDGET_MS) lets it read on the
 * isolate: "Zqx S" checks the given name of every person whose surname starts with S.
 */
export class BrowseTooBroad extends Error {
  constructor(budgetMs: number) {
    super(
      `the search examined more records than its ${budgetMs} ms budget lets it read: type more of the family ` +
        "name (or an id or identifier value)",
    );
    this.name = "BrowseTooBroad";
  }
}

/** What a browse throws for `err`: BrowseTooBroad for its surname ranges' budget running out, else `err`. */
export function tooBroad(err: unknown): unknown {
  return err instanceof BudgetExceeded ? new BrowseTooBroad(err.budgetMs) : err;
}

/** A search's page: its cursor, size, and the time budget of its surname ranges. */
export interface BrowseOptions {
  after?: string;
  limit?: number;
  /** SQL time the surname ranges may use (on SQLite they run on the isolate); past it, BrowseTooBroad. */
  budgetMs?: number;
}

/** A page of matches and the cursor of the next one (null at the end). */
export interface BrowsePage {
  items: StoredRegistrant[];
  next_after: string | null;
}

/** A matching row: the registrant's row, and its surname for the name-ordered part. */
export type BrowseRow = { id: number; data: string; deleted_at: string | null; surname?: string };

/** What a search reads: the exact matches (first page only), then a surname range per person record type. */
export interface BrowsePlan {
  text: string;
  limit: number;
  /** Whether to look up `text` as an id or identifier value (the first page). */
  exact: boolean;
  /** The storage record types of the registry's persons. */
  persons: string[];
  surname: string;
  given: string | undefined;
  cursor: { surname: string; id: number } | undefined;
}

/** How a search of `q` on `profile` reads, or undefined when there is nothing to search. */
export function browsePlan(
  profile: RegistryProfile,
  q: string,
  options: BrowseOptions = {},
): BrowsePlan | undefined {
  const text = q.trim().slice(0, MAX_BROWSE_QUERY);
  if (text === "") return undefined;
  const words = text.split(/\s+/);
  return {
    text,
    limit: Math.min(Math.max(options.limit ?? 50, 1), 500),
    exact: !options.after,
    persons: profile.recordTypes.filter((t) => t.kind === "person").map((t) => t.storage),
    surname: words.at(-1)!,
    given: words.length > 1 ? words[0] : undefined,
    cursor: options.after ? decodeCursor(options.after) : undefined,
  };
}

/** The page of a plan from its exact matches and its surname ranges (each at most limit + 1 rows). */
export function browsePage(plan: BrowsePlan, exact: BrowseRow[], ranges: BrowseRow[]): BrowsePage {
  const seen = new Set(exact.map((r) => Number(r.id)));
  // Several person record types (rare): merge their ordered runs.
  const rows = [...ranges].sort((a, b) => compareKey(a.surname!, a.id, b.surname!, b.id));
  const named = rows.filter((r) => !seen.has(Number(r.id)));
  const page = named.slice(0, plan.limit);
  const last = page.at(-1);
  return {
    items: [...exact, ...page].map(fromRow),
    next_after: named.length > plan.limit && last ? encodeCursor(last.surname!, Number(last.id)) : null,
  };
}

/** Rows without repeats of one id (the exact matches by id and by identifier). */
export function uniqueRows(rows: BrowseRow[]): BrowseRow[] {
  const out = new Map<number, BrowseRow>();
  for (const r of rows) out.set(Number(r.id), r);
  return [...out.values()];
}

/** By id, then by identifier value (identifiers' key leads with the value: a point lookup whatever the type). */
export const EXACT_SQL = {
  byId: `${REGISTRANT_SELECT} WHERE r.external_id = ? AND r.registry = ? AND r.deleted_at IS NULL`,
  byIdentifier: `${REGISTRANT_SELECT} WHERE r.id IN (SELECT registrant_id FROM identifiers
       WHERE id_value = ? AND registry = ? AND live = 1) AND r.deleted_at IS NULL LIMIT 20`,
};

/** The bound values of a surname range after the record type, prefix and upper bound: cursor, given name pattern. */
export function rangeArgs(plan: BrowsePlan): Array<string | number> {
  const args: Array<string | number> = [];
  if (plan.cursor) args.push(plan.cursor.surname, plan.cursor.id);
  if (plan.given) args.push(`${plan.given.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  return args;
}

/** The exclusive upper bound of a prefix range. */
export function prefixEnd(prefix: string): string {
  return `${prefix}\u{10ffff}`;
}

/**
 * Live registrants of `profile` matching `q`: first (on the first page) those whose id or an identifier value is
 * exactly `q`, then persons whose surname starts with `q` in name order. "Given Surname" (two words or more)
 * matches the last word as surname prefix and the first as given name prefix.
 */
export function browseRegistrants(
  db: Db,
  profile: RegistryProfile,
  q: string,
  options: BrowseOptions = {},
): BrowsePage {
  const plan = browsePlan(profile, q, options);
  if (!plan) return { items: [], next_after: null };
  const exact = plan.exact
    ? uniqueRows([
      ...stmt(db, EXACT_SQL.byId).all(plan.text, profile.name) as BrowseRow[],
      ...stmt(db, EXACT_SQL.byIdentifier).all(plan.text, profile.name) as BrowseRow[],
    ])
    : [];
  const ranges: BrowseRow[] = [];
  const budget = wallClockBudget(options.budgetMs);
  try {
    for (const storage of plan.persons) {
      ranges.push(...withStatementBudget(db, budget, () => surnameRange(db, storage, plan)));
    }
  } catch (err) {
    throw tooBroad(err);
  }
  return browsePage(plan, exact, ranges);
}

function surnameRange(db: Db, storage: string, plan: BrowsePlan): BrowseRow[] {
  // The same predicate as the partial NOCASE surname index of every person record type (0014, indexes.ts).
  const sql = `SELECT r.id, d.data, r.deleted_at, r.surname FROM registrants r
    JOIN registrant_data d ON d.id = r.id
    WHERE ${budgetTerm("r.id")} AND r.record_type = ? AND r.deleted_at IS NULL AND r.surname IS NOT NULL
      AND r.surname COLLATE NOCASE >= ? AND r.surname COLLATE NOCASE < ?
      ${plan.cursor ? "AND (r.surname COLLATE NOCASE, r.id) > (?, ?)" : ""}
      ${plan.given ? "AND r.given_name LIKE ? ESCAPE '\\'" : ""}
    ORDER BY r.surname COLLATE NOCASE, r.id LIMIT ?+0`;
  return stmt(db, sql).all(
    storage,
    plan.surname,
    prefixEnd(plan.surname),
    ...rangeArgs(plan),
    plan.limit + 1,
  ) as BrowseRow[];
}

const utf8 = new TextEncoder();

/** The databases' order of (surname, id): ASCII letters folded (NOCASE; lower() in the C locale), then UTF-8 bytes. */
function compareKey(sa: string, ia: number, sb: string, ib: number): number {
  const fold = (s: string) => utf8.encode(s.replace(/[A-Z]+/g, (m) => m.toLowerCase()));
  return Buffer.compare(fold(sa), fold(sb)) || ia - ib;
}

function encodeCursor(surname: string, id: number): string {
  return Buffer.from(JSON.stringify([surname, id])).toString("base64url");
}

function decodeCursor(raw: string): { surname: string; id: number } | undefined {
  try {
    const [surname, id] = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    // The surname is bound as text: one holding a NUL (PostgreSQL refuses it) is no cursor of ours.
    if (typeof surname === "string" && !surname.includes("\0") && Number.isSafeInteger(id)) {
      return { surname, id };
    }
  } catch { /* a bad cursor starts from the beginning */ }
  return undefined;
}
