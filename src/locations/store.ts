/** The place hierarchy in SQLite (migration 0017): read whole, replaced whole in one transaction. */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { Level, Place, PlaceIdentifier } from "./model.ts";

/** What is known about the current hierarchy. */
export interface HierarchyInfo {
  /** Grows by one with each replace: the document's ETag. */
  version: number;
  /** `demo`, or the name of the file imported. */
  source: string;
  /** When it was last replaced (ISO 8601). */
  updatedAt: string;
  places: number;
}

/** A hierarchy and its places in document order. */
export interface Hierarchy {
  info: HierarchyInfo;
  places: Place[];
}

/** What a replace changed, by code. */
export interface ReplaceResult {
  /** Codes not in the hierarchy before. */
  added: number;
  /** Codes in both. */
  kept: number;
  /** Codes gone. */
  removed: number;
  version: number;
  /** `ifNone` found a hierarchy: nothing was replaced. */
  skipped?: true;
}

/** A row of `locations` as the statements below read it. */
export type PlaceRow = {
  code: string;
  name: string;
  level: string;
  parent_code: string | null;
  identifiers: string | null;
};

/** The columns of a place, in the order placeValues binds them (then its position). */
export const PLACE_COLUMNS = "code, name, level, parent_code, identifiers";

/** A place of its row (identifiers parsed). */
export function placeOf(r: PlaceRow): Place {
  return {
    code: r.code,
    name: r.name,
    level: r.level as Level,
    parent: r.parent_code,
    identifiers: r.identifiers ? JSON.parse(r.identifiers) as PlaceIdentifier[] : [],
  };
}

/** The row of location_hierarchy. */
export type InfoRow = { version: number; source: string; updated_at: string; places: number };

/** The hierarchy's description of its row. */
export function infoOf(r: InfoRow): HierarchyInfo {
  return { version: Number(r.version), source: r.source, updatedAt: r.updated_at, places: Number(r.places) };
}

/** The current hierarchy's version, origin and size; undefined when none was ever loaded. */
export function hierarchyInfo(db: Db): HierarchyInfo | undefined {
  const r = stmt(db, HIERARCHY_INFO).get();
  return r ? infoOf(r as InfoRow) : undefined;
}

/** The hierarchy's row. */
export const HIERARCHY_INFO =
  "SELECT version, source, updated_at, places FROM location_hierarchy WHERE id = 1";

/** The whole hierarchy, read in one statement (one snapshot, even while an import replaces it). */
export function loadHierarchy(db: Db): Hierarchy | undefined {
  const rows = stmt(
    db,
    `SELECT h.version, h.source, h.updated_at, h.places, l.code, l.name, l.level, l.parent_code, l.identifiers
       FROM location_hierarchy h LEFT JOIN locations l ON 1
      WHERE h.id = 1 ORDER BY l.position`,
  ).all() as Array<PlaceRow & InfoRow>;
  return hierarchyOf(rows);
}

/** The hierarchy of the rows of its description LEFT JOINed with its places; undefined without any. */
export function hierarchyOf(rows: Array<PlaceRow & InfoRow>): Hierarchy | undefined {
  if (rows.length === 0) return undefined;
  return { info: infoOf(rows[0]), places: rows.filter((r) => r.code !== null).map(placeOf) };
}

/**
 * Replaces the hierarchy with `places` (already checked: see checkHierarchy) in one transaction: on any failure
 * the previous hierarchy stays as it was.
 */
export function replaceHierarchy(db: Db, places: readonly Place[], options: ReplaceOptions): ReplaceResult {
  return transaction(db, () => {
    if (options.ifNone && stmt(db, HIERARCHY_EXISTS).get()) return { skipped: true, ...NOTHING_REPLACED };
    const before = new Set(
      (stmt(db, "SELECT code FROM locations").all() as Array<{ code: string }>).map((r) => r.code),
    );
    stmt(db, "DELETE FROM locations").run();
    const insert = stmt(
      db,
      `INSERT INTO locations (${PLACE_COLUMNS}, position) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    places.forEach((p, i) => insert.run(...placeValues(p), i));
    const version = Number((stmt(db, NEXT_VERSION).get() as { v: number }).v);
    stmt(db, UPSERT_HIERARCHY).run(version, options.source.slice(0, 200), options.now, places.length);
    return replaceResult(before, places, version);
  });
}

/** The bound values of a place (without its position): identifiers as JSON text, none as NULL. */
export function placeValues(p: Place): [string, string, string, string | null, string | null] {
  return [p.code, p.name, p.level, p.parent, p.identifiers.length > 0 ? JSON.stringify(p.identifiers) : null];
}

/** How a replace is made: its origin and time, and `ifNone` (only where no hierarchy was ever loaded). */
export interface ReplaceOptions {
  source: string;
  now: string;
  /**
   * Replace only when no hierarchy was ever loaded, decided inside the replace's own transaction (the demo
   * seeding at start: an import another process commits meanwhile is never replaced).
   */
  ifNone?: boolean;
}

/** Whether a hierarchy was ever loaded. */
export const HIERARCHY_EXISTS = "SELECT 1 AS one FROM location_hierarchy WHERE id = 1";

/** The outcome of a replace that did not happen (`ifNone` found a hierarchy). */
export const NOTHING_REPLACED = { added: 0, kept: 0, removed: 0, version: 0 };

/** The next version of the hierarchy. */
export const NEXT_VERSION = "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM location_hierarchy";
/** The hierarchy's row, written (`?`: version, source, updated_at, places). */
export const UPSERT_HIERARCHY =
  `INSERT INTO location_hierarchy (id, version, source, updated_at, places) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, source = excluded.source,
         updated_at = excluded.updated_at, places = excluded.places`;

/** What a replace changed, from the codes before it and the places now. */
export function replaceResult(
  before: ReadonlySet<string>,
  places: readonly Place[],
  version: number,
): ReplaceResult {
  const kept = places.reduce((n, p) => n + (before.has(p.code) ? 1 : 0), 0);
  return { added: places.length - kept, kept, removed: before.size - kept, version };
}

/** One place with its ancestors (root first) and its number of children; undefined when unknown. */
export function placeWithPath(
  db: Db,
  code: string,
): { place: Place; ancestors: Place[]; children: number } | undefined {
  const r = stmt(db, PLACE_BY_CODE).get(code) as PlaceRow | undefined;
  if (!r) return undefined;
  const place = placeOf(r);
  const ancestors: Place[] = [];
  // At most three hops: a parent is always a level higher (checkHierarchy).
  for (let at = place.parent; at !== null && ancestors.length < 4;) {
    const p = stmt(db, PLACE_BY_CODE).get(at) as PlaceRow | undefined;
    if (!p) break;
    ancestors.unshift(placeOf(p));
    at = p.parent_code;
  }
  const children = Number((stmt(db, CHILD_COUNT).get(code) as { n: number }).n);
  return { place, ancestors, children };
}

/** One place by its code. */
export const PLACE_BY_CODE = `SELECT ${PLACE_COLUMNS} FROM locations WHERE code = ?`;
/** How many children a place has. */
export const CHILD_COUNT = "SELECT COUNT(*) AS n FROM locations WHERE parent_code = ?";

/** Places in document order, optionally only the children of `parent` (`""`: the roots) or of one level. */
export function listPlaces(
  db: Db,
  filter: { parent?: string; level?: Level; limit: number; offset: number },
): Place[] {
  const rows = stmt(
    db,
    `SELECT ${PLACE_COLUMNS} FROM locations
      WHERE (?1 IS NULL OR (?1 = '' AND parent_code IS NULL) OR parent_code = ?1)
        AND (?2 IS NULL OR level = ?2)
      ORDER BY position LIMIT ?+0 OFFSET ?+0`,
  ).all(filter.parent ?? null, filter.level ?? null, filter.limit, filter.offset) as PlaceRow[];
  return rows.map(placeOf);
}
