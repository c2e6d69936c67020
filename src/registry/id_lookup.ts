/**
 * Identifier lookups in bulk: a chunk of idtype-value lookups answered with one SQL statement (`id_value IN (…)`
 * on the identifiers primary key, joined to the live records of the registry's default record type), each answer
 * the same `search_response` item an inline idtype-value search item gets. For bulk search by file.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { fromRow } from "./store.ts";
import { normaliseIdType } from "./attributes.ts";
import { rejectItem, searchItem, type SearchResponseItem } from "./search.ts";
import { type ItemSettings, prepareItem } from "./search_item.ts";
import { queryTypeName } from "./query_parse.ts";
import { identifierValueOf } from "./query_sql.ts";
import { profileOf } from "../registries/index.ts";

/** One lookup: the answer's reference_id, the identifier type (code or URN) and value. */
export interface IdLookup {
  ref: string;
  type: string;
  value: string;
}

/** Values per statement: well under SQLite's bound-parameter limit, and a plan that stays a PK probe per value. */
const CHUNK = 500;

/** A live identifier row of a looked-up value, with its registrant's data. */
export type Hit = { t: string; v: string; id: number; data: string; deleted_at: null };

/**
 * The live identifiers of `values` in `registry` with their registrants' data. No join to `registrants`: a live
 * identifier's registrant is never deleted (deleteRegistrant kills its identifiers in the same transaction), and
 * the record type is in the data, checked after parsing. Reading the registrants rows too cost about 40 % more
 * per lookup (bench/bulk_search.ts on 1M persons).
 */
const HITS_SQL = (n: number) =>
  `SELECT i.id_type AS t, i.id_value AS v, i.registrant_id AS id, d.data, NULL AS deleted_at FROM identifiers i
   JOIN registrant_data d ON d.id = i.registrant_id
   WHERE i.id_value IN (${Array(n).fill("?").join(",")}) AND i.live = 1 AND i.registry = ?
   ORDER BY i.registrant_id`;

/** What a bulk lookup needs beside the database. */
export interface LookupSettings {
  maxPageSize: number;
  maxResults: number;
  now: number;
}

/** Answers `lookups` on `registry` as search_response items, in order (one statement per 500 lookups). */
export function lookupIdentifiers(
  ctx: LookupSettings & { db: Db },
  registry: string,
  lookups: readonly IdLookup[],
): SearchResponseItem[] {
  const { profile, items } = lookupPlan(ctx, registry, lookups);
  if (items) return items.map((item) => searchItem({ ...ctx, profile }, item));
  const rows: Hit[] = [];
  for (const chunk of valueChunks(lookups)) {
    rows.push(...stmt(ctx.db, HITS_SQL(chunk.length)).all(...chunk, registry) as Hit[]);
  }
  return lookupAnswers(ctx, registry, lookups, rows);
}

/**
 * The registry's profile and, when its default record type is groups (which carry their members), the lookups
 * as inline search items for the general path (one query per lookup, still correct).
 */
export function lookupPlan(ctx: LookupSettings, registry: string, lookups: readonly IdLookup[]) {
  const profile = profileOf(registry);
  if (!profile) throw new Error(`unknown registry ${registry}`);
  if (profile.recordTypes[0].kind !== "group") return { profile };
  const timestamp = new Date(ctx.now).toISOString();
  const items = lookups.map((l) => ({
    reference_id: l.ref,
    timestamp,
    search_criteria: { query_type: "idtype-value", query: { type: l.type, value: l.value } },
  }));
  return { profile, items };
}

/** The distinct values of `lookups`, a statement's worth at a time. */
export function valueChunks(lookups: readonly IdLookup[]): string[][] {
  const values = [...new Set(lookups.map((l) => l.value.trim()))];
  const chunks: string[][] = [];
  for (let at = 0; at < values.length; at += CHUNK) chunks.push(values.slice(at, at + CHUNK));
  return chunks;
}

/** The answers of `lookups` from the live identifier rows (`rows`, in registrant id order) of their values. */
export function lookupAnswers(
  ctx: LookupSettings,
  registry: string,
  lookups: readonly IdLookup[],
  rows: Hit[],
): SearchResponseItem[] {
  const profile = profileOf(registry)!;
  const recordType = profile.recordTypes[0];
  const timestamp = new Date(ctx.now).toISOString();
  const types = lookups.map((l) => normaliseIdType(l.type));
  const hits = new Map<string, Hit[]>();
  for (const row of rows) {
    const key = `${row.t}\u0000${row.v}`;
    const list = hits.get(key);
    if (list) list.push(row);
    else hits.set(key, [row]);
  }
  const pageSize = ctx.maxPageSize;
  return lookups.map((l, i) => {
    const type = types[i];
    if (type === undefined) {
      return rejectItem(
        { reference_id: l.ref },
        "rjct.filter.invalid",
        `invalid identifier type ${JSON.stringify(l.type.slice(0, 64))}`,
        ctx.now,
      );
    }
    const found = (hits.get(`${type}\u0000${l.value.trim()}`) ?? [])
      .map(fromRow)
      .filter((reg) => reg.recordType === recordType.storage);
    // One registrant may hold the value twice (e.g. as UIN in two rows): counted once, as the inline search does.
    const unique = found.filter((h, k) => k === 0 || found[k - 1].id !== h.id);
    return {
      reference_id: l.ref,
      timestamp,
      status: "succ",
      data: {
        version: "1.0.0",
        reg_type: profile.regType,
        reg_record_type: recordType.names[0],
        reg_records: unique.slice(0, pageSize).map((reg) =>
          profile.toRecord(reg, recordType, { withContext: true })
        ),
      },
      pagination: { page_size: pageSize, page_number: 1, total_count: unique.length },
    } satisfies SearchResponseItem;
  });
}

/** The item's search criteria when it asks for an idtype-value query, else undefined. */
function idTypeCriteria(item: unknown): Record<string, unknown> | undefined {
  const criteria = typeof item === "object" && item !== null
    ? (item as Record<string, unknown>).search_criteria
    : undefined;
  if (typeof criteria !== "object" || criteria === null) return undefined;
  const c = criteria as Record<string, unknown>;
  return queryTypeName(c.query_type) === "idtype-value" ? c : undefined;
}

/**
 * The lookup of an inline search item when lookupIdentifiers answers it exactly as searchItem does: a valid
 * first page of an idtype-value query (string type and value) on the registry's default record type, not groups,
 * at the default page size, unsorted, without a locale. Anything else is undefined: the item goes the general way.
 * (A live identifier names one registrant of a registry, so such a page is never cut short.)
 */
export function plainLookup(ctx: ItemSettings, item: unknown): IdLookup | undefined {
  if (!idTypeCriteria(item)) return undefined;
  let p;
  try {
    p = prepareItem(ctx, item);
  } catch {
    return undefined;
  }
  const plain = p.lookup && p.sort.length === 0 && !p.locale && p.pageSize === ctx.maxPageSize &&
    p.recordType === p.profile.recordTypes[0] && p.recordType.kind !== "group";
  const q = p.cond.kind === "cmp" ? p.cond.value as { type?: unknown; value?: unknown } : undefined;
  if (!plain || typeof q?.type !== "string" || typeof q.value !== "string") return undefined;
  // A type or value the query compiler refuses (rjct.filter.invalid) goes the general way, to be refused there.
  if (normaliseIdType(q.type) === undefined || identifierValueOf(q.value) === undefined) return undefined;
  return { ref: p.ref, type: q.type, value: q.value };
}

/**
 * The items of a message (those not answered yet in `answers`) that lookupIdentifiers answers in one statement,
 * when at least two are: their lookups, and where each answer goes. A message with fewer than two idtype-value
 * items is not looked at further (a one-item search pays nothing for this).
 */
export function plainLookups(
  ctx: ItemSettings,
  items: readonly unknown[],
  answers: ReadonlyArray<SearchResponseItem | undefined>,
): { lookups: IdLookup[]; at: number[] } | undefined {
  const candidates = items.flatMap((item, i) => !answers[i] && idTypeCriteria(item) ? [i] : []);
  if (candidates.length < 2) return undefined;
  const lookups: IdLookup[] = [];
  const at: number[] = [];
  for (const i of candidates) {
    const lookup = plainLookup(ctx, items[i]);
    if (lookup) {
      lookups.push(lookup);
      at.push(i);
    }
  }
  return lookups.length > 1 ? { lookups, at } : undefined;
}
