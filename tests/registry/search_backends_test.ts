/**
 * Search on both backends (`storage.search`, src/registry/search_store.ts): one table of queries and their
 * expected answers over the same seeded social registry (tests/registry/fixture.ts plus a person without a birth
 * date and one with a death date and an e-mail), run on SQLite and on PostgreSQL: equality, ranges, NULLs,
 * NOCASE and LIKE, contacts, identifiers, age, household attributes, groups with their members, sorts with
 * NULLs, pagination and cursors, too_many_records_found. search_backends_more_test.ts has the other registries,
 * bulk lookups and the time budget.
 */
import assert from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { copyRegistry, sourceRegistry } from "../helpers/registry_seed.ts";
import { FIXTURE, FIXTURE_NOW, pred } from "./fixture.ts";
import type { Db } from "../../src/db/sqlite.ts";
import type { Storage } from "../../src/db/storage.ts";
import { idsOf, searchOn } from "./search_backends.ts";

const NOW = new Date(FIXTURE_NOW).toISOString();

/** The fixture and two more persons: one without a birth date, one dead with an e-mail. */
const RECORDS = [
  ...FIXTURE,
  {
    id: "P9",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-9" }],
    name: { given_name: "Ivo", surname: "okafor" },
    sex: "male",
    address: {
      locality: "Westfield",
      region_code: "western_region",
      country_code: "ZZ",
      postal_code: "1000",
    },
  },
  {
    id: "P10",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-10" }],
    name: { given_name: "Jo", surname: "Zulu" },
    sex: "female",
    birth_date: "1950-01-01",
    death_date: "2024-01-01",
    email: ["Ten@Example.org"],
    phone_number: ["+99 800 FLOWERS"],
    address: { locality: "Eastham", region_code: "eastern_region", country_code: "ZZ", postal_code: "2000" },
  },
];

let source: Promise<Db> | undefined;

/** The test's database seeded with RECORDS (P7 deleted). */
async function seeded(storage: Storage, sql: Parameters<typeof copyRegistry>[2]): Promise<void> {
  source ??= sourceRegistry(RECORDS.map((raw, i) => ({ line: i + 1, raw })), { now: NOW, deleted: ["P7"] });
  await copyRegistry(await source, storage.kind, sql);
}

const both = (a: ReturnType<typeof pred>, condition: string, b: ReturnType<typeof pred>) => ({
  query_type: "predicate",
  query: [{ expression1: a.query[0].expression1, condition, expression2: b.query[0].expression1 }],
});

/** Every live person, in row id order (P7 is deleted). */
const LIVE = ["P1", "P2", "P3", "P4", "P5", "P6", "P8", "P9", "P10"];

/** Queries and the @ids they find (in the default order, row id), on the seeded social registry. */
const CASES: Array<[string, Record<string, unknown>, string[]]> = [
  ["eq on a date", pred("birth_date", "eq", "2000-11-02"), ["P4"]],
  ["ne counts a NULL as different", pred("birth_date", "ne", "2020-11-02"), [
    "P1",
    "P2",
    "P4",
    "P6",
    "P8",
    "P9",
    "P10",
  ]],
  ["gt", pred("birth_date", "gt", "2000-11-02"), ["P3", "P5", "P8"]],
  ["le", pred("birth_date", "le", "2000-11-02"), ["P1", "P2", "P4", "P6", "P10"]],
  ["gt the last day", pred("registration_date", "gt", "9999-12-31"), []],
  ["le the last day", pred("registration_date", "le", "9999-12-31"), LIVE],
  ["in, as ranges", pred("birth_date", "in", ["2000-11-01", "2010-06-15"]), ["P6", "P8"]],
  [
    "in, as a set",
    pred("birth_date", "in", ["2000-11-01", "2010-06-15", "1900-01-01", "1900-01-02", "1900-01-03"]),
    [
      "P6",
      "P8",
    ],
  ],
  ["death date", pred("death_date", "ge", "2020-01-01"), ["P10"]],
  ["registration day", pred("registration_date", "eq", "2026-01-01"), LIVE],
  ["age lt", pred("age", "lt", 25), ["P3", "P5", "P8"]],
  ["age eq", pred("age", "eq", 25), ["P4", "P6"]],
  ["age lt 0", pred("age", "lt", 0), []],
  ["age in, computed", pred("age", "in", [5, 15, 25, 35, 45, 55]), ["P3", "P4", "P5", "P6", "P8"]],
  ["household number", pred("poverty_score", "lt", 5), ["P1", "P2", "P3"]],
  ["household integer vs a fraction", pred("group_size", "ge", 2.5), ["P1", "P2", "P3"]],
  ["household ne", pred("group_type", "ne", "household"), []],
  ["upper-cased value", pred("country", "eq", "lk"), ["P8"]],
  ["column equality is exact", pred("surname", "eq", "okafor"), ["P9"]],
  ["name ignores case", pred("name", "eq", "OKAFOR"), ["P6", "P9"]],
  ["name ne", pred("name", "ne", "diallo"), ["P4", "P5", "P6", "P8", "P9", "P10"]],
  ["name like a prefix", pred("name", "like", "AM%"), ["P1"]],
  ["name contains", pred("name", "contains", "KAR"), ["P2"]],
  ["LIKE on a column ignores case", pred("surname", "like", "%ALLO"), ["P1", "P2", "P3"]],
  ["contains on a column", pred("locality", "contains", "GATE"), ["P4", "P5"]],
  ["LIKE escapes", pred("surname", "contains", "%"), []],
  ["phone", pred("phone", "eq", "+99 700000001"), ["P1"]],
  ["phone ne", pred("phone", "ne", "+99 700000001"), ["P2", "P3", "P4", "P5", "P6", "P8", "P9", "P10"]],
  ["email ignores case", pred("email", "eq", "TEN@example.org"), ["P10"]],
  // A phone number's letters (a vanity number, an extension) match in any case, as an e-mail's (before: on SQLite
  // only, its NOCASE key; PostgreSQL compared them as stored).
  ["phone ignores case", pred("phone", "eq", "+99800flowers"), ["P10"]],
  ["phone like ignores case", pred("phone", "like", "%Flow%"), ["P10"]],
  ["email contains", pred("email", "contains", "EXAMPLE"), ["P10"]],
  ["UIN in", pred("UIN", "in", ["U-2", "U-8", "U-7"]), ["P2", "P8"]],
  ["UIN ne", pred("UIN", "ne", "U-1"), ["P2", "P3", "P4", "P5", "P6", "P8", "P9", "P10"]],
  ["any identifier", pred("identifier", "eq", "B-3"), ["P3"]],
  ["typed identifiers", pred("id.brn", "in", ["B-3", "B-5"]), ["P3", "P5"]],
  ["idtype-value", { query_type: "idtype-value", query: { type: "UIN", value: "U-2" } }, ["P2"]],
  [
    "idtype-value of a deleted record",
    { query_type: "idtype-value", query: { type: "UIN", value: "U-7" } },
    [],
  ],
  ["search_text by name", pred("search_text", "eq", "amina"), ["P1"]],
  ["search_text by identifier and @id", pred("search_text", "in", ["U-5", "P4"]), ["P4", "P5"]],
  ["and", both(pred("surname", "eq", "Diallo"), "and", pred("sex", "eq", "female")), ["P1", "P3"]],
  ["or", both(pred("surname", "eq", "Diallo"), "or", pred("sex", "eq", "female")), [
    "P1",
    "P2",
    "P3",
    "P5",
    "P10",
  ]],
  ["not", both(pred("surname", "eq", "Diallo"), "not", pred("sex", "eq", "female")), ["P2"]],
  ["everyone", { query_type: "expression", query: {} }, LIVE],
  ["CEL", { query_type: "predicate", query: `r.surname.startsWith("Dia") && r.age >= 18` }, ["P1", "P2"]],
  ["sorted, NULLs first ascending", {
    ...pred("sex", "eq", "male"),
    sort: [{ attribute_name: "birth_date" }],
  }, ["P9", "P2", "P6", "P4"]],
  ["sorted, NULLs last descending", {
    ...pred("sex", "eq", "male"),
    sort: [{ attribute_name: "birth_date", sort_order: "desc" }],
  }, ["P4", "P6", "P2", "P9"]],
  ["sorted by text, bytewise", {
    ...pred("registration_date", "ge", "2000-01-01"),
    sort: [{ attribute_name: "surname" }, { attribute_name: "given_name", sort_order: "desc" }],
  }, ["P3", "P2", "P1", "P5", "P4", "P6", "P8", "P10", "P9"]],
  // The spec's sort example: a person by its household's poverty score (NULL without a household).
  ["sorted by the household's poverty score", {
    query_type: "expression",
    query: {},
    sort: [{ attribute_name: "poverty_score", sort_order: "desc" }],
  }, ["P4", "P5", "P1", "P2", "P3", "P6", "P8", "P9", "P10"]],
  // The spec's other sort example, as every crvs sample sends it: an identifier type orders one match.
  ["an idtype-value lookup sorted by UIN", {
    query_type: "idtype-value",
    query: { type: "UIN", value: "U-3" },
    sort: [{ attribute_name: "UIN", sort_order: "asc" }],
  }, ["P3"]],
  ["an identifier filter sorted by UIN and a column", {
    ...pred("UIN", "eq", "U-4"),
    sort: [{ attribute_name: "UIN", sort_order: "asc" }, { attribute_name: "birth_date" }],
  }, ["P4"]],
  ["no match sorted by identifier.UIN", {
    ...pred("UIN", "eq", "U-404"),
    sort: [{ attribute_name: "identifier.UIN" }],
  }, []],
];

backendTest("search: the table of queries finds the same records on both backends", async (storage, sql) => {
  await seeded(storage, sql);
  for (const [name, criteria, expected] of CASES) {
    const a = await searchOn(storage, criteria);
    assert.equal(a.status, "succ", `${name}: ${a.status_reason_message}`);
    assert.deepEqual(idsOf(a), expected, name);
    assert.equal(a.pagination?.total_count, expected.length, name);
  }
});

backendTest("search: groups come with their live members", async (storage, sql) => {
  await seeded(storage, sql);
  const a = await searchOn(storage, { reg_record_type: "Group", ...pred("poverty_score", "lt", 5) });
  assert.deepEqual(idsOf(a), ["G1"]);
  const g = a.data!.reg_records[0] as Record<string, unknown>;
  assert.equal((g.member_list as unknown[]).length, 3);
  assert.equal((g.group_head_info as Record<string, unknown>)["@id"], "P1");
  const all = await searchOn(storage, { reg_record_type: "Group", ...pred("group_size", "in", [2, 3]) });
  assert.deepEqual(idsOf(all), ["G1", "G2"]);
  assert.deepEqual(all.data!.reg_records.map((r) => (r.member_list as unknown[]).length), [3, 2]);
  const byId = await searchOn(storage, {
    reg_record_type: "Group",
    query_type: "idtype-value",
    query: { type: "HOUSEHOLD_ID", value: "H-2" },
  });
  assert.deepEqual(idsOf(byId), ["G2"]);
  assert.equal((byId.data!.reg_records[0].member_list as unknown[]).length, 2);
});

backendTest("search: pages by number and by cursor, in every sort order", async (storage, sql) => {
  await seeded(storage, sql);
  const everyone = { query_type: "expression", query: {} };
  const sorts = [
    [],
    [{ attribute_name: "birth_date" }],
    [{ attribute_name: "birth_date", sort_order: "desc" }, { attribute_name: "given_name" }],
    [{ attribute_name: "surname", sort_order: "desc" }],
    [{ attribute_name: "poverty_score" }, { attribute_name: "surname", sort_order: "desc" }],
    [{ attribute_name: "group_size", sort_order: "desc" }],
    [{ attribute_name: "group_type" }, { attribute_name: "given_name", sort_order: "desc" }],
  ];
  for (const sort of sorts) {
    const whole = idsOf(await searchOn(storage, { ...everyone, sort }));
    assert.equal(whole.length, 9);
    const byNumber: string[] = [];
    for (let n = 1; n <= 5; n++) {
      const a = await searchOn(storage, { ...everyone, sort, pagination: { page_size: 2, page_number: n } });
      assert.equal(a.pagination?.total_count, 9);
      byNumber.push(...idsOf(a));
    }
    assert.deepEqual(byNumber, whole, JSON.stringify(sort));
    const byCursor: string[] = [];
    let cursor: string | undefined;
    do {
      const pagination = { page_size: 2, ...(cursor ? { cursor } : {}) };
      const a = await searchOn(storage, { ...everyone, sort, pagination });
      byCursor.push(...idsOf(a));
      cursor = a.pagination?.next_cursor;
    } while (cursor);
    assert.deepEqual(byCursor, whole, JSON.stringify(sort));
  }
  const past = await searchOn(storage, { ...everyone, pagination: { page_size: 5, page_number: 3 } });
  assert.deepEqual(idsOf(past), []);
  assert.equal(past.pagination?.total_count, 9);
});

backendTest("search: refusals are the same on both backends", async (storage, sql) => {
  await seeded(storage, sql);
  const many = await searchOn(storage, pred("sex", "eq", "female"), { config: { searchMaxResults: "3" } });
  assert.equal(many.status_reason_code, "rjct.search.too_many_records_found");
  const three = await searchOn(storage, pred("sex", "eq", "male"), { config: { searchMaxResults: "4" } });
  assert.equal(three.status, "succ");
  // No record holds NUL (PostgreSQL text cannot): a value with one is refused on both backends, a `ne` too
  // (SQLite answered it: every record).
  for (const op of ["eq", "ne"]) {
    const nul = await searchOn(storage, pred("surname", op, "Dia\u0000llo"));
    assert.equal(nul.status_reason_code, "rjct.filter.invalid", JSON.stringify(nul));
    assert.match(String(nul.status_reason_message), /NUL character/);
  }
  const bad = await searchOn(storage, pred("surname", "gt", { x: 1 }));
  assert.equal(bad.status_reason_code, "rjct.filter.invalid");
  // A thousand empty alternatives: refused as too many, not an expression too deep to prepare (SQLite).
  const empties = {
    query_type: "expression",
    query: { or: Array.from({ length: 1001 }, () => ({ seq: [] })) },
  };
  assert.equal((await searchOn(storage, empties)).status_reason_code, "rjct.filter.invalid");
  // A phone pattern whose escaped character normalisation strips: the escape goes with it.
  const escaped = await searchOn(storage, pred("phone", "like", "+99 700%\\-"));
  assert.equal(escaped.status, "succ", JSON.stringify(escaped));
  assert.deepEqual(idsOf(escaped), idsOf(await searchOn(storage, pred("phone", "like", "+99700%"))));
  assert.notDeepEqual(idsOf(escaped), []);
  const cursor = await searchOn(storage, { ...pred("sex", "eq", "male"), pagination: { cursor: "nope!" } });
  assert.equal(cursor.status_reason_code, "rjct.pagination.invalid");
  // A cursor of the right shape but a value of the wrong type: an invalid cursor, never an error.
  const forged = btoa(JSON.stringify({ s: "birth_date+", v: [5, 3] })).replace(/=+$/, "");
  const f = await searchOn(storage, {
    ...pred("sex", "eq", "male"),
    sort: [{ attribute_name: "birth_date" }],
    pagination: { cursor: forged },
  });
  assert.ok(f.status === "succ" || f.status_reason_code === "rjct.pagination.invalid", JSON.stringify(f));
  // An identifier type sorts a single match only: more is refused, saying why (not an error, not unsorted).
  const byUin = await searchOn(storage, { ...pred("sex", "eq", "male"), sort: [{ attribute_name: "UIN" }] });
  assert.equal(byUin.status_reason_code, "rjct.sort.invalid", JSON.stringify(byUin));
  assert.match(
    String(byUin.status_reason_message),
    /cannot sort 4 records by "UIN": an identifier type orders/,
  );
  for (const name of ["PHONE", "identifier.", "group_id"]) {
    const no = await searchOn(storage, { ...pred("UIN", "eq", "U-4"), sort: [{ attribute_name: name }] });
    assert.equal(no.status_reason_code, "rjct.sort.invalid", name);
  }
  // A group has no household: its own poverty score sorts it, a person's column does not.
  const groups = await searchOn(storage, {
    reg_record_type: "Group",
    query_type: "expression",
    query: {},
    sort: [{ attribute_name: "poverty_score", sort_order: "desc" }],
  });
  assert.deepEqual(idsOf(groups), ["G2", "G1"]);
  const bySurname = await searchOn(storage, {
    reg_record_type: "Group",
    query_type: "expression",
    query: {},
    sort: [{ attribute_name: "surname" }],
  });
  assert.equal(bySurname.status_reason_code, "rjct.sort.invalid");
});
