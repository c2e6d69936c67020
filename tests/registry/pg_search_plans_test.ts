/**
 * The PostgreSQL text of the query compiler is served by the indexes of baseline 0025: a name compares
 * lower(column) (the lower() text_pattern_ops indexes, for equality and a LIKE prefix), a registry attribute
 * compares its jsonb value with the jsonb of the bound value (the (attr, value) key, for equality and ranges),
 * identifiers and contacts their primary keys. Sequential scans are turned off for the session, so a plan that
 * names the index proves the index can serve the statement (otherwise PostgreSQL still scans). The admin list,
 * counts and emptiness test of a registry read its own index entries (migrations 0041, 0042).
 */
import assert from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { copyRegistry, sourceRegistry } from "../helpers/registry_seed.ts";
import { FIXTURE, FIXTURE_NOW, pred } from "./fixture.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgPlaceholders } from "../../src/db/pg/query.ts";
import { parseQuery } from "../../src/registry/query_parse.ts";
import { searchFrom, toSql } from "../../src/registry/query_sql.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { writeAll } from "../../src/registry/batch.ts";
import type { RegistryProfile } from "../../src/registries/profile.ts";
import { listArgs, STORE_SQL } from "../../src/registry/registry_store.ts";
import { COUNTS_SQL } from "../../src/registry/store.ts";

Deno.test("PostgreSQL search plans use the name, value, identifier and contact indexes", async () => {
  const url = await newPgDatabase("t");
  const pool = openPgPool(url, { max: 1 });
  try {
    await migratePg(pool);
    const client = await pool.connect();
    try {
      const sql = async (text: string, values: unknown[] = []) =>
        (await client.query(pgPlaceholders(text), values)).rows;
      const now = new Date(FIXTURE_NOW).toISOString();
      // One source database for both registries (row ids are the writer's, unique across them).
      const source = await sourceRegistry(FIXTURE.map((raw, i) => ({ line: i + 1, raw })), { now });
      const farmers = [...frProfile.demo(30, 5)].map((raw, i) => ({ line: i + 1, raw }));
      await writeAll(source, farmers, { now: () => now, profile: frProfile });
      await copyRegistry(source, "postgres", sql as never);
      await client.query("SET enable_seqscan = off");
      const plan = async (criteria: ReturnType<typeof pred>, profile?: RegistryProfile) => {
        const recordType = profile?.recordTypes[0];
        const where = toSql(parseQuery(criteria.query_type, criteria.query).cond, {
          recordType: "person",
          storage: recordType?.storage,
          attributes: profile?.attributes,
          idTypes: profile?.idTypes,
          today: "2026-01-01",
          mode: "search",
          dialect: "postgres",
        });
        const rows = await sql(
          `EXPLAIN SELECT r.id ${searchFrom(where, recordType?.storage ?? "person")}`,
          where.params,
        );
        return rows.map((r) => String(r["QUERY PLAN"])).join("\n");
      };
      // Index conditions, not only index names: with sequential scans off, PostgreSQL reads a whole index
      // rather than the table when no index condition applies.
      const cases: Array<[ReturnType<typeof pred>, RegistryProfile | undefined, RegExp[]]> = [
        [pred("name", "eq", "AMINA"), undefined, [
          /reg_p_given_ci.*\n.*Index Cond: \(lower\(given_name\) = 'amina'/,
          /reg_p_second_ci.*\n.*Index Cond: \(lower\(second_name\) = 'amina'/,
          /reg_p_surname_ci.*\n.*Index Cond: \(lower\(surname\) = 'amina'/,
        ]],
        [pred("name", "like", "Am%"), undefined, [
          /reg_p_given_ci.*\n.*Index Cond: \(\(lower\(given_name\) ~>=~ 'am'/,
          /reg_p_surname_ci.*\n.*Index Cond: \(\(lower\(surname\) ~>=~ 'am'/,
        ]],
        [pred("birth_date", "eq", "2000-11-02"), undefined, [
          /reg_p_(sex_)?birth.*\n.*Index Cond: .*birth_date =/,
        ]],
        [pred("UIN", "eq", "U-1"), undefined, [
          /identifiers_(pkey|live).*\n.*Index Cond: .*id_value = 'U-1'/,
        ]],
        [pred("phone", "eq", "+99 700000001"), undefined, [
          /registrant_contacts_pkey.*\n.*Index Cond: .*value = '\+99700000001'/,
        ]],
        // A prefix: a range on the key, as on SQLite (values and pattern are stored lower-cased: contacts.ts).
        [pred("phone", "like", "+99 7%"), undefined, [
          /registrant_contacts_pkey.*\n.*Index Cond: .*value >= '\+997'.*value < '\+998'/,
        ]],
        [pred("email", "like", "Amina%"), undefined, [
          /registrant_contacts_pkey.*\n.*Index Cond: .*value >= 'amina'.*value < 'aminb'/,
        ]],
        [pred("crop_type", "eq", "1"), frProfile, [
          /registrant_values_pkey.*\n.*Index Cond: \(\(attr = 'crop_type'::text\) AND \(value = to_jsonb\('1'::text\)\)\)/,
        ]],
        [pred("land_size", "gt", 2.5), frProfile, [
          /registrant_values_pkey.*\n.*Index Cond: \(\(attr = 'land_size'::text\) AND \(value > to_jsonb\(2\.5\)\)\)/,
        ]],
      ];
      for (const [criteria, profile, indexes] of cases) {
        const text = await plan(criteria, profile);
        for (const index of indexes) assert.match(text, index, `${JSON.stringify(criteria.query)}\n${text}`);
      }
      // The admin list's page, a registry's counts and a load's emptiness test: the registry's own entries of its
      // indexes (migrations 0041, 0042), never a walk of every registry's records.
      const explain = async (text: string, values: unknown[]) =>
        (await sql(`EXPLAIN ${text}`, values)).map((r) => String(r["QUERY PLAN"])).join("\n");
      const [list] = listArgs("fr", { limit: 50 });
      const reads: Array<[string, unknown[], RegExp[]]> = [
        [STORE_SQL.list, list, [
          /registrants_registry[^\n]*\n\s*Index Cond: \(\(registry = 'fr'::text\) AND \(record_type = 'fr_person'::text\) AND \(id < /,
        ]],
        [COUNTS_SQL, ["fr", "fr"], [
          /registrants_registry\s[^\n]*\n\s*Index Cond: \(registry = 'fr'::text\)/,
          /registrants_registry_deleted\s[^\n]*\n\s*Index Cond: \(registry = 'fr'::text\)/,
        ]],
        // A registry still empty (a load's first batch asks): nothing to stop early at in another index.
        [STORE_SQL.anyOfRegistry, ["crvs", "crvs"], [
          /registrants_registry\s[^\n]*\n\s*Index Cond: \(registry = 'crvs'::text\)/,
          /registrants_registry_deleted\s[^\n]*\n\s*Index Cond: \(registry = 'crvs'::text\)/,
        ]],
      ];
      for (const [text, values, indexes] of reads) {
        const got = await explain(text, values);
        for (const index of indexes) assert.match(got, index, `${text}\n${got}`);
      }
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
});
