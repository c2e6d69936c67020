/**
 * Operators and attributes real clients send (issue 12 §5): `contains` and `like` (escaped, bound, case-
 * insensitive), `name` (any name part), `phone`, `email`, an empty OpenSPP `seq` (every record, paged and
 * capped), OpenSPP's `{seq, or}` read as OpenSPP reads it; and the index a prefix match uses (EXPLAIN QUERY PLAN).
 */
import assert from "node:assert/strict";
import { fixtureDeps, ids, pred, searchOne } from "../registry/fixture.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";
import { parseQuery } from "../../src/registry/query_parse.ts";
import { searchFrom, toSql } from "../../src/registry/query_sql.ts";
import { addRegistrant } from "./query_support.ts";

Deno.test("query: contains and like on text attributes are case-insensitive; wildcards only where the client put them", async () => {
  const deps = await fixtureDeps();
  try {
    await addRegistrant(deps, {
      id: "Q1",
      name: { given_name: "Per_cent", surname: "50% off" },
      sex: "male",
    });
    await addRegistrant(deps, {
      id: "Q2",
      name: { given_name: "Perxcent", surname: "500 off" },
      sex: "male",
    });
    const cases: Array<[string, string, string, string[]]> = [
      ["surname", "contains", "ALL", ["P1", "P2", "P3"]],
      ["surname", "like", "men%", ["P4", "P5"]],
      ["surname", "like", "%for", ["P6"]],
      ["surname", "like", "ok_f_r", ["P6"]],
      ["surname", "like", "allo", ["P1", "P2", "P3"]], // no wildcard: a substring, as OpenSPP's like
      ["locality", "like", "NORTH%", ["P4", "P5"]],
      ["surname", "contains", "50%", ["Q1"]], // % is literal in contains
      ["given_name", "contains", "r_c", ["Q1"]], // _ is literal in contains
      ["surname", "like", "50\\%%", ["Q1"]], // \% is a literal % in like
      ["given_name", "like", "per_cent", ["Q1", "Q2"]], // _ is one character in like
      ["surname", "contains", "' OR 1=1 --", []],
    ];
    for (const [attr, op, value, expected] of cases) {
      const a = await searchOne(deps, pred(attr, op, value));
      assert.equal(a.status, "succ", `${attr} ${op} ${value}: ${a.status_reason_message}`);
      assert.deepEqual(ids(a), expected, `${attr} ${op} ${value}`);
    }
    for (const [attr, op, value] of [["birth_date", "like", "2000%"], ["age", "contains", "1"]] as const) {
      const a = await searchOne(deps, pred(attr, op, value));
      assert.equal(a.status_reason_code, "rjct.filter.invalid", `${attr} ${op}`);
      assert.match(a.status_reason_message ?? "", /applies to text attributes/);
    }
    const dangling = await searchOne(deps, pred("surname", "like", "abc\\"));
    assert.equal(dangling.status_reason_code, "rjct.filter.invalid");
    assert.match(dangling.status_reason_message ?? "", /ends with an escape/);
  } finally {
    deps.close();
  }
});

Deno.test("query: name matches any name part, case-insensitively, with eq, ne, in, contains and like", async () => {
  const deps = await fixtureDeps();
  try {
    await addRegistrant(deps, {
      id: "Q3",
      name: { given_name: "Ann", second_name: "Mensah", surname: "Lee" },
      sex: "female",
    });
    const cases: Array<[string, unknown, string[]]> = [
      ["eq", "mensah", ["P4", "P5", "Q3"]],
      ["eq", "AMINA", ["P1"]],
      ["in", ["esi", "lee"], ["P5", "Q3"]],
      ["like", "ok%", ["P6"]],
      ["contains", "MIN", ["P1"]],
      ["ne", "Diallo", ["P4", "P5", "P6", "P8", "Q3"]],
    ];
    for (const [op, value, expected] of cases) {
      const a = await searchOne(deps, pred("name", op, value));
      assert.equal(a.status, "succ", `name ${op}: ${a.status_reason_message}`);
      assert.deepEqual(ids(a), expected, `name ${op} ${JSON.stringify(value)}`);
    }
    const gt = await searchOne(deps, pred("name", "gt", "A"));
    assert.equal(gt.status_reason_code, "rjct.filter.invalid");
    const groups = await searchOne(deps, { ...pred("name", "eq", "x"), reg_record_type: "Group" });
    assert.match(groups.status_reason_message ?? "", /person records only/);
  } finally {
    deps.close();
  }
});

Deno.test("query: phone and email compare as normalised contacts (index lookups), after updates too", async () => {
  const deps = await fixtureDeps();
  try {
    await addRegistrant(deps, {
      id: "Q4",
      name: { given_name: "Kofi" },
      phone_number: ["+99 (7) 123-4567", "+99 7000 000 01"],
    });
    await addRegistrant(deps, { id: "Q5", name: { given_name: "Lina" }, email: ["Lina.Q@Example.ORG"] });
    assert.deepEqual(ids(await searchOne(deps, pred("phone", "eq", "+99 700000001"))), ["P1", "Q4"]);
    assert.deepEqual(ids(await searchOne(deps, pred("phone_number", "eq", "+99-7-1234567"))), ["Q4"]);
    assert.deepEqual(ids(await searchOne(deps, pred("phone", "like", "+99 71%"))), ["Q4"]);
    assert.deepEqual(ids(await searchOne(deps, pred("phone", "in", ["+99 7 123 4567", "+1 555"]))), ["Q4"]);
    assert.deepEqual(ids(await searchOne(deps, pred("email", "eq", "lina.q@example.org"))), ["Q5"]);
    assert.deepEqual(ids(await searchOne(deps, pred("email", "like", "LINA.%"))), ["Q5"]);
    assert.deepEqual(ids(await searchOne(deps, pred("email", "contains", "example.org"))), ["Q5"]);
    // An update replaces the contacts; a deleted registrant is not found.
    await addRegistrant(deps, { id: "Q5", name: { given_name: "Lina" }, email: ["lina@other.example"] });
    assert.deepEqual(ids(await searchOne(deps, pred("email", "eq", "lina.q@example.org"))), []);
    assert.deepEqual(ids(await searchOne(deps, pred("email", "eq", "LINA@other.example"))), ["Q5"]);
    const lt = await searchOne(deps, pred("phone", "lt", "5"));
    assert.equal(lt.status_reason_code, "rjct.filter.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("query: an empty OpenSPP seq (or an empty query) is every record, paged and capped by the result limit", async () => {
  const deps = await fixtureDeps({ searchMaxResults: "7" });
  try {
    const empty = (expression: unknown) => ({ query_type: "expression", query: { value: { expression } } });
    const all = await searchOne(deps, {
      ...empty({ seq: [] }),
      pagination: { page_size: 3, page_number: 3 },
    });
    assert.equal(all.status, "succ");
    assert.equal(all.pagination?.total_count, 7, "every live person (P7 is deleted)");
    assert.deepEqual(ids(all), ["P8"], "the third page of three");
    assert.deepEqual(ids(await searchOne(deps, empty({ query: {} }))), [
      "P1",
      "P2",
      "P3",
      "P4",
      "P5",
      "P6",
      "P8",
    ]);
    assert.equal(
      (await searchOne(deps, empty({}))).status,
      "succ",
      "an empty Mongo query reads as every record too",
    );
    await addRegistrant(deps, { id: "Q6", name: { given_name: "One more" } });
    const capped = await searchOne(deps, empty({ seq: [] }));
    assert.equal(capped.status_reason_code, "rjct.search.too_many_records_found", "8 records, cap 7");
  } finally {
    deps.close();
  }
});

Deno.test("query: OpenSPP {seq, or} is (seq AND …) OR or[0] OR …, as OpenSPP's server reads it", async () => {
  const deps = await fixtureDeps();
  try {
    const a = await searchOne(deps, {
      query_type: "expression",
      query: {
        value: {
          expression: {
            seq: [{ attribute: "surname", operator: "=", value: "Diallo" }, {
              attribute: "sex",
              operator: "=",
              value: "female",
            }],
            or: [{ seq: [{ attribute: "surname", operator: "like", value: "okafor" }] }],
          },
        },
      },
    });
    assert.deepEqual(ids(a), ["P1", "P3", "P6"]);
  } finally {
    deps.close();
  }
});

Deno.test({
  name: "query: a prefix match uses an index (EXPLAIN QUERY PLAN): name parts, surname, phone",
  // SQLite's query planner and its statements (toSql/searchFrom); PostgreSQL compiles queries of its own.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await fixtureDeps();
  try {
    deps.db.exec("ANALYZE");
    const plan = (attribute_name: string, operator: string, attribute_value: string) => {
      const { cond } = parseQuery("predicate", [{
        expression1: { attribute_name, operator, attribute_value },
      }]);
      const where = toSql(cond, { recordType: "person", today: "2026-01-01", mode: "search" });
      const rows = deps.db.prepare(`EXPLAIN QUERY PLAN SELECT r.id ${searchFrom(where, "person")}`)
        .all(...where.params) as Array<{ detail: string }>;
      return rows.map((r) => r.detail).join("\n");
    };
    const name = plan("name", "like", "Dia%");
    for (const index of ["reg_p_given_ci", "reg_p_second_ci", "reg_p_surname_ci"]) {
      assert.match(name, new RegExp(`USING INDEX ${index} \\(\\w+>\\? AND \\w+<\\?\\)`), name);
    }
    assert.match(plan("name", "eq", "diallo"), /USING INDEX reg_p_surname_ci \(surname=\?\)/);
    const surname = plan("surname", "like", "Dia%");
    assert.match(surname, /USING INDEX reg_p_surname_ci \(surname>\? AND surname<\?\)/, surname);
    const cel = toSql(parseQuery("predicate", `r.surname.startsWith("Dia")`).cond, {
      recordType: "person",
      today: "2026-01-01",
      mode: "search",
    });
    assert.match(
      (deps.db.prepare(`EXPLAIN QUERY PLAN SELECT r.id ${searchFrom(cel, "person")}`).all(
        ...cel.params,
      ) as Array<
        { detail: string }
      >).map((r) => r.detail).join("\n"),
      /USING INDEX reg_p_surname_ci \(surname>\? AND surname<\?\)/,
    );
    assert.match(plan("phone", "like", "+99 70%"), /USING PRIMARY KEY \(kind=\? AND value>\? AND value<\?\)/);
  } finally {
    deps.close();
  }
});
