/**
 * The place hierarchy in PostgreSQL: the statements of src/locations/store.ts where both dialects agree, and the
 * PostgreSQL forms where they differ (typed NULL tests, `ON true`, a recursive read of a place's ancestors, and
 * a replace that inserts arrays of places rather than one row at a time).
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  HIERARCHY_EXISTS,
  HIERARCHY_INFO,
  hierarchyOf,
  infoOf,
  type InfoRow,
  NEXT_VERSION,
  NOTHING_REPLACED,
  PLACE_COLUMNS,
  placeOf,
  type PlaceRow,
  placeValues,
  replaceResult,
  UPSERT_HIERARCHY,
} from "./store.ts";
import type { LocationStore } from "./location_store.ts";

const LOAD = `SELECT h.version, h.source, h.updated_at, h.places, l.code, l.name, l.level, l.parent_code,
    l.identifiers
  FROM location_hierarchy h LEFT JOIN locations l ON true WHERE h.id = 1 ORDER BY l.position`;

const INSERT_PLACES = `INSERT INTO locations (${PLACE_COLUMNS}, position)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])`;

/** Places per INSERT: bounds one message, not the hierarchy. */
const CHUNK = 5000;

/** The place and its ancestors (depth 0 is the place), and its number of children, in one statement. */
const PLACE_PATH = `WITH RECURSIVE up AS (
    SELECT ${PLACE_COLUMNS}, 0 AS depth FROM locations WHERE code = $1
    UNION ALL
    SELECT l.code, l.name, l.level, l.parent_code, l.identifiers, up.depth + 1
      FROM locations l JOIN up ON l.code = up.parent_code WHERE up.depth < 4
  )
  SELECT up.*, (SELECT COUNT(*) FROM locations WHERE parent_code = $1) AS children FROM up ORDER BY depth`;

const LIST = `SELECT ${PLACE_COLUMNS} FROM locations
  WHERE ($1::text IS NULL OR ($1 = '' AND parent_code IS NULL) OR parent_code = $1)
    AND ($2::text IS NULL OR level = $2)
  ORDER BY position LIMIT $3 OFFSET $4`;

/** The place hierarchy in the PostgreSQL database behind `pool`. */
export function pgLocationStore(pool: PgPool): LocationStore {
  return {
    info: async () => {
      const r = await pgOne<InfoRow>(pool, HIERARCHY_INFO);
      return r ? infoOf(r) : undefined;
    },
    load: async () => hierarchyOf(await pgAll<PlaceRow & InfoRow>(pool, LOAD)),
    replace: (places, options) =>
      pgTransaction(pool, async (c) => {
        // One replace at a time across instances (readers are not held up): the codes read here are the ones
        // this replace deletes, and the version is taken once.
        await c.query("LOCK TABLE location_hierarchy IN EXCLUSIVE MODE");
        if (options.ifNone && await pgOne(c, HIERARCHY_EXISTS)) return { skipped: true, ...NOTHING_REPLACED };
        const before = new Set(
          (await pgAll<{ code: string }>(c, "SELECT code FROM locations")).map((r) => r.code),
        );
        await pgRun(c, "DELETE FROM locations");
        for (let at = 0; at < places.length; at += CHUNK) {
          const rows = places.slice(at, at + CHUNK).map(placeValues);
          const column = (i: number) => rows.map((r) => r[i]) as string[];
          const positions = rows.map((_, i) => at + i);
          await pgRun(c, INSERT_PLACES, [column(0), column(1), column(2), column(3), column(4), positions]);
        }
        const version = (await pgOne<{ v: number }>(c, NEXT_VERSION))!.v;
        await pgRun(c, pgText(UPSERT_HIERARCHY), [
          version,
          options.source.slice(0, 200),
          options.now,
          places.length,
        ]);
        return replaceResult(before, places, version);
      }),
    place: async (code) => {
      const rows = await pgAll<PlaceRow & { depth: number; children: number }>(pool, PLACE_PATH, [code]);
      if (rows.length === 0) return undefined;
      return {
        place: placeOf(rows[0]),
        ancestors: rows.slice(1).reverse().map(placeOf),
        children: rows[0].children,
      };
    },
    list: async (filter) =>
      (await pgAll<PlaceRow>(pool, LIST, [
        filter.parent ?? null,
        filter.level ?? null,
        filter.limit,
        filter.offset,
      ]))
        .map(placeOf),
  };
}
