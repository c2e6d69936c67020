/**
 * OpenSPP's CEL predicates (issue 12 §5, done-when d): each CEL predicate returns the same records as its
 * spec-predicate equivalent over the seeded fixture registry (real SQLite, both compiled to bound SQL by the
 * same compiler); unsupported functions are refused naming the function; malicious CEL (deep nesting, huge
 * strings, 1,000+ terms, 1,000+ values) is refused cleanly as rjct.filter.invalid.
 */
import assert from "node:assert/strict";
import { fixtureDeps, ids, searchOne } from "../registry/fixture.ts";
import { recordIds, searchItemOf, searchResponseErrors, searchSetup, syncSearch } from "./query_support.ts";

type Expr = { attribute_name: string; operator: string; attribute_value: unknown };
const e = (attribute_name: string, operator: string, attribute_value: unknown): Expr => ({
  attribute_name,
  operator,
  attribute_value,
});
const spec = (...items: Array<{ expression1: Expr; condition?: string; expression2?: Expr }>) => ({
  query_type: "predicate",
  query: items.map((x, i) => ({ seq_num: i + 1, ...x })),
});

/** [CEL, the equivalent spec predicate, the records both return, extra criteria]. */
const PAIRS: Array<[string, Record<string, unknown>, string[], Record<string, unknown>?]> = [
  [
    "age_years(r.birthdate) >= 18 && r.gender == 'female'",
    spec({ expression1: e("age", "ge", 18), condition: "and", expression2: e("sex", "eq", "female") }),
    ["P1"],
  ],
  [
    `r.birth_date >= "2000-11-02" && r.birth_date == date("2020-11-02")`,
    spec({
      expression1: e("birth_date", "ge", "2000-11-02"),
      condition: "and",
      expression2: e("birth_date", "eq", "2020-11-02"),
    }),
    ["P3", "P5"],
  ],
  [
    `r.surname == "Diallo" || r.surname == "Mensah"`,
    spec({ expression1: e("surname", "in", ["Diallo", "Mensah"]) }),
    ["P1", "P2", "P3", "P4", "P5"],
  ],
  [
    "r.surname == 'Diallo' && !(r.sex == 'female')",
    spec({
      expression1: e("surname", "eq", "Diallo"),
      condition: "not",
      expression2: e("sex", "eq", "female"),
    }),
    ["P2"],
  ],
  [
    "r.surname == 'Diallo' and not r.sex == 'male'",
    spec({
      expression1: e("surname", "eq", "Diallo"),
      condition: "not",
      expression2: e("sex", "eq", "male"),
    }),
    ["P1", "P3"],
  ],
  [
    `me.region in ["northern_region", "southern_region"]`,
    spec({ expression1: e("region", "in", ["northern_region", "southern_region"]) }),
    ["P4", "P5", "P8"],
  ],
  [
    "18 > age_years(r.birthdate)",
    spec({ expression1: e("age", "lt", 18) }),
    ["P3", "P5", "P8"],
  ],
  [
    `r.given_name.startsWith("A") || startsWith(r.given_name, "e")`,
    spec({
      expression1: e("given_name", "like", "A%"),
      condition: "or",
      expression2: e("given_name", "like", "e%"),
    }),
    ["P1", "P5"],
  ],
  [
    `r.name.contains("all") || r.surname.endsWith("fOR")`,
    spec({
      expression1: e("name", "contains", "all"),
      condition: "or",
      expression2: e("surname", "like", "%for"),
    }),
    ["P1", "P2", "P3", "P6"],
  ],
  [
    `r.phone == "+99 700000001"`,
    spec({ expression1: e("phone", "eq", "+99700000001") }),
    ["P1"],
  ],
  [
    "r.poverty_score < 5 && r.identifier.UIN != 'U-1'",
    spec({ expression1: e("poverty_score", "lt", 5), condition: "and", expression2: e("UIN", "ne", "U-1") }),
    ["P2", "P3"],
  ],
  [
    "r.group_size >= 3",
    { ...spec({ expression1: e("group_size", "ge", 3) }), reg_record_type: "Group" },
    ["G1"],
    { reg_record_type: "Group" },
  ],
  [
    "true",
    {
      query_type: "expression",
      query: { type: "ns:org:QueryType:expression", value: { expression: { seq: [] } } },
    },
    ["P1", "P2", "P3", "P4", "P5", "P6", "P8"],
  ],
];

/** The three ways OpenSPP sends a CEL predicate. */
const FORMS = [(c: string) => c, (c: string) => ({ expression: c }), (c: string) => ({ value: c })];

Deno.test("CEL predicates return the same records as the equivalent spec predicate", async () => {
  const deps = await fixtureDeps();
  try {
    for (const [i, [cel, equivalent, expected, extra]] of PAIRS.entries()) {
      const bySpec = await searchOne(deps, equivalent);
      const byCel = await searchOne(deps, { ...extra, query_type: "predicate", query: FORMS[i % 3](cel) });
      assert.equal(byCel.status, "succ", `${cel}: ${byCel.status_reason_message}`);
      assert.equal(bySpec.status, "succ", `${JSON.stringify(equivalent)}: ${bySpec.status_reason_message}`);
      assert.deepEqual(ids(byCel), ids(bySpec), cel);
      assert.deepEqual(ids(byCel), expected, cel);
      assert.equal(byCel.pagination?.total_count, expected.length, cel);
    }
  } finally {
    deps.close();
  }
});

Deno.test("CEL predicate through the signed sync search route: answered like a spec predicate, spec-valid", async () => {
  const s = await searchSetup();
  try {
    const { status, json, items } = await syncSearch(s, [
      searchItemOf({
        reg_type: "SPP:RegistryType:Individual",
        query_type: "predicate",
        query: { expression: "age_years(r.birthdate) >= 18 && r.gender == 'female'" },
      }),
    ]);
    assert.equal(status, 200);
    assert.deepEqual(recordIds(items[0]), ["P1"]);
    assert.deepEqual(searchResponseErrors(json.message), []);
  } finally {
    s.deps.close();
  }
});

Deno.test("CEL: an unsupported function or construct is rjct.filter.invalid naming it", async () => {
  const deps = await fixtureDeps();
  try {
    const cases: Array<[string, RegExp]> = [
      [`r.given_name.matches("^A")`, /function "matches"/],
      ["size(r.given_name) > 3", /function "size"/],
      ["has(r.birthdate)", /function "has"/],
      ["r.members.exists(m, age_years(m.birthdate) < 5)", /function "exists"/],
      ["int(r.group_size) == 3", /function "int"/],
      ["r.sex == 'male' ? true : false", /operator "\?:"/],
      ["r.income > 5", /attribute "income" is not searchable/],
      ["r.birth_date == r.death_date", /one attribute and one literal/],
      ["age_years(r.registration_date) > 1", /birth date/],
      ["r.sex == b'male'", /not supported \(strings and numbers only\)/],
      ["r.sex == ", /does not parse/],
      [`r.sex == "unterminated`, /does not parse/],
      ["", /empty/],
    ];
    for (const [cel, message] of cases) {
      const a = await searchOne(deps, { query_type: "predicate", query: { expression: cel } });
      assert.equal(a.status, "rjct", cel);
      assert.equal(a.status_reason_code, "rjct.filter.invalid", cel);
      assert.match(a.status_reason_message ?? "", message, cel);
    }
  } finally {
    deps.close();
  }
});

Deno.test("CEL: malicious predicates (deep nesting, huge strings, 1,000+ terms or values) are refused cleanly", async () => {
  const deps = await fixtureDeps();
  try {
    const terms = (n: number) => Array.from({ length: n }, (_, i) => `a==${i}`).join("||");
    const lists = Array.from({ length: 11 }, (_, i) => `r.given_name in [${Array(100).fill(`"v${i}"`)}]`);
    const cases: Array<[string, RegExp]> = [
      ["(".repeat(5000) + "r.sex == 'male'" + ")".repeat(5000), /does not parse|nested deeper/],
      ["!".repeat(30) + "(r.sex == 'male')", /nested deeper than 10 levels/],
      ["!".repeat(5000) + "(r.sex == 'male')", /does not parse|nested deeper/],
      [`r.surname == "${"x".repeat(1_000_000)}"`, /longer than 16384 characters/],
      [`r.surname == "${"x".repeat(10_000)}"`, /invalid value/],
      [terms(65), /more than 64 comparisons/],
      [terms(1_500), /does not parse|more than 64 comparisons/],
      [lists.join(" || "), /more than 1000 values/],
      [`r.given_name in [${Array(101).fill('"x"')}]`, /does not parse/],
    ];
    for (const [cel, message] of cases) {
      const a = await searchOne(deps, { query_type: "predicate", query: cel });
      assert.equal(a.status, "rjct", cel.slice(0, 60));
      assert.equal(a.status_reason_code, "rjct.filter.invalid", cel.slice(0, 60));
      assert.match(a.status_reason_message ?? "", message, cel.slice(0, 60));
      assert.ok((a.status_reason_message ?? "").length <= 999);
    }
    // A value that looks like SQL is only ever a bound parameter.
    const sqlish = await searchOne(deps, { query_type: "predicate", query: `r.surname == "x' OR 1=1 --"` });
    assert.equal(sqlish.status, "succ");
    assert.deepEqual(ids(sqlish), []);
  } finally {
    deps.close();
  }
});
