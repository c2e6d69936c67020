/**
 * A corpus of queries covering every branch of the query compiler (src/registry/query_sql.ts and the modules it
 * calls), in search and match (subscription filter) mode, on the social, crvs and fr registries. Compiled in the
 * SQLite dialect it is compared with a golden file (the SQLite text must never change by accident); compiled in
 * PostgreSQL's it must be valid there (tests/registry/query_dialect_test.ts).
 */
import { parseQuery } from "../../src/registry/query_parse.ts";
import { type Compiled, type SqlContext, toSql } from "../../src/registry/query_sql.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import type { RegistryProfile } from "../../src/registries/profile.ts";

/** Where a corpus query is compiled: its registry, record type and mode. */
export type CorpusPlace = "person" | "group" | "person-match" | "group-match" | "crvs" | "fr" | "fr-match";

/** One query of the corpus. */
export interface CorpusQuery {
  place: CorpusPlace;
  queryType: string;
  query: unknown;
}

const p = (attribute_name: string, operator: string, attribute_value: unknown) => ({
  query_type: "predicate",
  query: [{ expression1: { attribute_name, operator, attribute_value } }],
});
const two = (a: ReturnType<typeof p>, condition: string, b: ReturnType<typeof p>) => ({
  query_type: "predicate",
  query: [{ expression1: a.query[0].expression1, condition, expression2: b.query[0].expression1 }],
});
const days = ["2000-01-01", "2000-01-02", "2000-01-03", "2000-01-04", "2000-01-05"];
const ops = ["eq", "ne", "gt", "ge", "lt", "le"];

function entries(): Array<[CorpusPlace, { query_type: string; query: unknown }]> {
  const out: Array<[CorpusPlace, { query_type: string; query: unknown }]> = [];
  const person: CorpusPlace[] = ["person", "person-match"];
  for (const place of person) {
    for (const op of ops) {
      out.push([place, p("birth_date", op, "2000-11-02")]);
      out.push([place, p("age", op, op === "lt" ? 0 : 25)]);
      out.push([place, p("registration_date", op, "2024-01-02")]);
      out.push([place, p("poverty_score", op, 3.5)]);
      out.push([place, p("group_size", op, 3)]);
      out.push([place, p("surname", op, "Diallo")]);
    }
    out.push([place, p("age", "lt", 25)]);
    out.push([place, p("birth_date", "in", days.slice(0, 2))]);
    out.push([place, p("birth_date", "in", days)]);
    out.push([place, p("age", "in", [1, 2])]);
    out.push([place, p("age", "in", [1, 2, 3, 4, 5, 6])]);
    out.push([place, p("registration_date", "in", days.slice(0, 3))]);
    out.push([place, p("registration_date", "in", days)]);
    out.push([place, p("surname", "in", ["Diallo", "Mensah"])]);
    out.push([place, p("surname", "contains", "dia")]);
    out.push([place, p("surname", "like", "Di%")]);
    out.push([place, p("country", "like", "l")]);
    out.push([place, p("group_type", "eq", "household")]);
    out.push([place, p("group_type", "ne", "household")]);
    out.push([place, p("group_type", "like", "house%")]);
    out.push([place, p("sex", "eq", "F")]);
    for (const name of ["name", "full_name"]) {
      out.push([place, p(name, "eq", "amina")]);
      out.push([place, p(name, "ne", "amina")]);
      out.push([place, p(name, "in", ["amina", "Bakari"])]);
      out.push([place, p(name, "eq", "Amina Diallo")]);
      out.push([place, p(name, "in", ["Amina Diallo", "Bakari", "Esi van Mensah"])]);
      out.push([place, p(name, "contains", "kar")]);
      out.push([place, p(name, "like", "am%")]);
      out.push([place, p(name, "like", "%na")]);
    }
    for (const kind of ["phone", "email"]) {
      out.push([place, p(kind, "eq", kind === "phone" ? "+99 700000001" : "A@Example.org")]);
      out.push([place, p(kind, "ne", kind === "phone" ? "+99 700000001" : "a@example.org")]);
      out.push([place, p(kind, "in", ["1", "2"])]);
      out.push([place, p(kind, "contains", "700")]);
    }
    out.push([place, p("search_text", "eq", "U-1")]);
    out.push([place, p("search_text", "ne", "U-1")]);
    out.push([place, p("search_text", "in", ["U-1", "Amina"])]);
    out.push([place, p("UIN", "eq", "U-1")]);
    out.push([place, p("UIN", "ne", "U-1")]);
    out.push([place, p("identifier", "eq", "U-1")]);
    out.push([place, p("id.brn", "in", ["B-3", "B-5"])]);
    out.push([place, p("identifier", "eq", { type: "BRN", value: "B-3" })]);
    out.push([place, { query_type: "idtype-value", query: { type: "UIN", value: "U-2" } }]);
    out.push([place, two(p("surname", "eq", "Diallo"), "and", p("sex", "eq", "female"))]);
    out.push([place, two(p("surname", "eq", "Diallo"), "or", p("poverty_score", "lt", 5))]);
    out.push([place, two(p("surname", "eq", "Diallo"), "not", p("age", "ge", 18))]);
    out.push([place, { query_type: "expression", query: {} }]);
    out.push([place, { query_type: "predicate", query: `r.surname.startsWith("Dia") && r.age >= 18` }]);
  }
  for (const place of ["group", "group-match"] as const) {
    out.push([place, p("poverty_score", "lt", 5)]);
    out.push([place, p("group_size", "in", [2, 3])]);
    out.push([place, p("locality", "contains", "river")]);
    out.push([place, p("HOUSEHOLD_ID", "eq", "H-1")]);
    out.push([place, p("registration_date", "ge", "2024-01-01")]);
  }
  out.push(["crvs", p("vital_event_type", "eq", "marriage")]);
  out.push(["crvs", p("vital_event_date", "ge", "2020-01-01")]);
  out.push(["crvs", p("parent_identifier", "eq", "P-1")]);
  out.push(["crvs", p("marital_status", "in", ["M", "S"])]);
  out.push([
    "crvs",
    two(p("vital_event_type", "eq", "marriage"), "and", p("birth_place", "eq", "Westfield")),
  ]);
  for (const place of ["fr", "fr-match"] as const) {
    out.push([place, p("crop_type", "eq", "1")]);
    out.push([place, p("crop_type", "ne", "1")]);
    out.push([place, p("land_size", "gt", 2.5)]);
    out.push([place, p("land_size", "in", [1, 2])]);
    out.push([place, p("livestock_count", "le", 10)]);
    out.push([place, p("farm_region", "like", "re%")]);
    out.push([place, p("farm_region", "contains", "gion")]);
    out.push([place, two(p("crop_type", "eq", "1"), "and", p("livestock_type", "in", ["1", "2"]))]);
    out.push([place, two(p("crop_type", "eq", "1"), "and", p("land_size", "ge", 1))]);
  }
  return out;
}

/** The corpus. */
export const CORPUS: CorpusQuery[] = entries().map(([place, q]) => ({
  place,
  queryType: q.query_type,
  query: q.query,
}));

function profileOf(place: CorpusPlace): RegistryProfile | undefined {
  if (place === "crvs") return crvsProfile;
  if (place.startsWith("fr")) return frProfile;
  return undefined;
}

/** The compilation context of `place`; search mode estimates a registry attribute's rows by its value's length. */
export function corpusContext(place: CorpusPlace, dialect?: "sqlite" | "postgres"): SqlContext {
  const profile = profileOf(place);
  const group = place.startsWith("group");
  const match = place.endsWith("-match");
  return {
    recordType: group ? "group" : "person",
    ...(profile
      ? {
        storage: profile.recordTypes[0].storage,
        groupStorage: `${profile.name}_group`,
        attributes: profile.attributes,
        idTypes: profile.idTypes,
      }
      : {}),
    today: "2026-01-01",
    mode: match ? "match" : "search",
    ...(match ? {} : { estimate: (_where, params) => String(params.at(-1)).length }),
    ...(dialect ? { dialect } : {}),
  };
}

/** Every corpus query compiled (a QueryError's message where it is refused). */
export function compileCorpus(dialect?: "sqlite" | "postgres"): Array<Compiled | { error: string }> {
  return CORPUS.map((q) => {
    try {
      return toSql(parseQuery(q.queryType, q.query).cond, corpusContext(q.place, dialect));
    } catch (err) {
      return { error: (err as Error).message };
    }
  });
}
