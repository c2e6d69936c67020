/**
 * Search on PostgreSQL (search_store.ts): the items of a message answered one after the other by pg_search.ts
 * under the request's time budget, and bulk identifier lookups with one statement per 500 values, as on SQLite.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgText } from "../db/pg/query.ts";
import type { SearchStore } from "./search_store.ts";
import { searchMessageWith } from "./search_message.ts";
import { pgSearchItem } from "./pg_search.ts";
import { hasNul } from "./query_parse.ts";
import { type Hit, lookupAnswers, lookupPlan, valueChunks } from "./id_lookup.ts";

/** The live identifiers of a chunk of values in a registry, with their registrants' data (id_lookup.ts). */
const HITS = pgText(
  `SELECT i.id_type AS t, i.id_value AS v, i.registrant_id AS id, d.data, NULL AS deleted_at FROM identifiers i
   JOIN registrant_data d ON d.id = i.registrant_id
   WHERE i.id_value = ANY(?::text[]) AND i.live = 1 AND i.registry = ?
   ORDER BY i.registrant_id`,
);

/** Search on the PostgreSQL database behind `pool`. */
export function pgSearchStore(pool: PgPool): SearchStore {
  const store: SearchStore = {
    message: (deps, input) =>
      searchMessageWith(
        deps,
        input,
        (ctx, item) => pgSearchItem(pool, ctx, item),
        (ctx, registry, lookups) => store.lookupIdentifiers(ctx, registry, lookups),
      ),
    lookupIdentifiers: async (ctx, registry, lookups) => {
      const { profile, items } = lookupPlan(ctx, registry, lookups);
      if (items) {
        const answers = [];
        for (const item of items) answers.push(await pgSearchItem(pool, { ...ctx, profile }, item));
        return answers;
      }
      const rows: Hit[] = [];
      // A value holding NUL matches nothing (PostgreSQL text cannot hold it; SQLite finds no such identifier).
      for (const chunk of valueChunks(lookups.filter((l) => !hasNul(l.value)))) {
        rows.push(...await pgAll<Hit>(pool, HITS, [chunk, registry]));
      }
      return lookupAnswers(ctx, registry, lookups, rows);
    },
  };
  return store;
}
