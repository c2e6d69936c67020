import assert from "node:assert/strict";
import { REGISTRIES } from "../../src/dci/registry_router.ts";
import { profileOf } from "../../src/registries/index.ts";
import { fixtureDeps, ids, item, pred, searchOne } from "./fixture.ts";
import { DciRejection } from "../../src/dci/errors.ts";

Deno.test("search: the predicate example (birthdate ge 2000-11-02 and eq 2020-11-02) returns exactly P3 and P5", async () => {
  const deps = await fixtureDeps();
  try {
    const a = await searchOne(deps, {
      query_type: "predicate",
      query: [{
        seq_num: 1,
        expression1: { attribute_name: "birthdate", operator: "ge", attribute_value: "2000-11-02" },
        condition: "and",
        expression2: { attribute_name: "birthdate", operator: "eq", attribute_value: "2020-11-02" },
      }],
    });
    assert.equal(a.status, "succ");
    assert.deepEqual(ids(a), ["P3", "P5"]);
    assert.equal(a.pagination?.total_count, 2);
  } finally {
    deps.close();
  }
});

Deno.test("search: every predicate operator on birth_date", async () => {
  const deps = await fixtureDeps();
  try {
    const cases: Array<[string, unknown, string[]]> = [
      ["eq", "2000-11-02", ["P4"]],
      ["ne", "2020-11-02", ["P1", "P2", "P4", "P6", "P8"]],
      ["gt", "2000-11-02", ["P3", "P5", "P8"]],
      ["ge", "2000-11-02", ["P3", "P4", "P5", "P8"]],
      ["lt", "2000-11-02", ["P1", "P2", "P6"]],
      ["le", "2000-11-02", ["P1", "P2", "P4", "P6"]],
      ["in", ["2000-11-01", "2010-06-15"], ["P6", "P8"]],
      ["in", "2000-11-01,1985-05-20", ["P1", "P6"]],
    ];
    for (const [op, value, expected] of cases) {
      assert.deepEqual(ids(await searchOne(deps, pred("birth_date", op, value))), expected, `${op} ${value}`);
    }
  } finally {
    deps.close();
  }
});

Deno.test("search: conditions and/or/not, several items ANDed, aliases and household attributes", async () => {
  const deps = await fixtureDeps();
  try {
    const two = (cond: string) => ({
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "surname", operator: "eq", attribute_value: "Diallo" },
        condition: cond,
        expression2: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
      }],
    });
    assert.deepEqual(ids(await searchOne(deps, two("and"))), ["P1", "P3"]);
    assert.deepEqual(ids(await searchOne(deps, two("or"))), ["P1", "P2", "P3", "P5"]);
    assert.deepEqual(ids(await searchOne(deps, two("not"))), ["P2"]);
    const items = await searchOne(deps, {
      query_type: "predicate",
      query: [
        { seq_num: 2, expression1: { attribute_name: "gender", operator: "eq", attribute_value: "F" } },
        {
          seq_num: 1,
          expression1: { attribute_name: "location", operator: "eq", attribute_value: "northern_region" },
        },
      ],
    });
    assert.deepEqual(ids(items), ["P5"]);
    assert.deepEqual(ids(await searchOne(deps, pred("age", "lt", 25))), ["P3", "P5", "P8"]);
    assert.deepEqual(ids(await searchOne(deps, pred("age", "eq", 25))), ["P4", "P6"]);
    assert.deepEqual(ids(await searchOne(deps, pred("poverty_score", "lt", 5))), ["P1", "P2", "P3"]);
    assert.deepEqual(ids(await searchOne(deps, pred("UIN", "in", ["U-2", "U-8", "U-7"]))), ["P2", "P8"]);
    assert.deepEqual(ids(await searchOne(deps, pred("country", "eq", "lk"))), ["P8"]);
  } finally {
    deps.close();
  }
});

Deno.test('search: a whole name (name or full_name eq "Amina Diallo", or among in values) finds the person whose name parts it names', async () => {
  const deps = await fixtureDeps();
  try {
    const q = async (attribute: string, op: string, value: string) =>
      ids(await searchOne(deps, pred(attribute, op, value))).sort();
    assert.deepEqual(await q("full_name", "eq", "Amina Diallo"), ["P1"]);
    assert.deepEqual(await q("name", "eq", "  diallo   AMINA "), ["P1"], "any order, any case, any spaces");
    assert.deepEqual(await q("full_name", "eq", "Diallo"), ["P1", "P2", "P3"], "one word: any name part");
    assert.deepEqual(
      await q("full_name", "eq", "Amina Mensah"),
      [],
      "the words must be the parts of one name",
    );
    assert.deepEqual(await q("full_name", "eq", "Amina Bakari Diallo"), [], "a second name it does not have");
    const all = await q("name", "ne", "Zzzz");
    assert.deepEqual(await q("full_name", "ne", "Amina Diallo"), all.filter((id) => id !== "P1"));
    // Among `in` values as for `eq`: each whole name as one person's parts, each one-word value as any part.
    const among = async (values: string[]) => ids(await searchOne(deps, pred("name", "in", values))).sort();
    assert.deepEqual(await among(["Amina Diallo", "Esi Mensah"]), ["P1", "P5"]);
    assert.deepEqual(await among(["Amina Diallo", "Okafor"]), ["P1", "P6"], "P7 Okafor is deleted");
    assert.deepEqual(await among(["Amina Mensah", "Esi Diallo"]), []);
  } finally {
    deps.close();
  }
});

Deno.test("search: idtype-value by code and URN; deleted people are not found", async () => {
  const deps = await fixtureDeps();
  try {
    const q = (type: string, value: unknown) =>
      searchOne(deps, { query_type: "idtype-value", query: { type, value } });
    assert.deepEqual(ids(await q("UIN", "U-4")), ["P4"]);
    assert.deepEqual(ids(await q("urn:dci:id:brn", "B-5")), ["P5"]);
    assert.deepEqual(ids(await q("BRN", "U-4")), []);
    assert.deepEqual(ids(await q("UIN", "U-7")), [], "P7 is deleted");
    const person = (await q("UIN", "U-1")).data!.reg_records[0] as Record<string, unknown>;
    assert.equal(person["@type"], "SRPerson");
    assert.deepEqual(person.name, { "@type": "Name", given_name: "Amina", surname: "Diallo" });
    assert.equal(person.birth_date, "1985-05-20T00:00:00Z");
  } finally {
    deps.close();
  }
});

Deno.test("search: expression in MongoDB form (Group collection) and OpenSPP {seq, or} form", async () => {
  const deps = await fixtureDeps();
  try {
    const groups = await searchOne(deps, {
      query_type: "expression",
      query: {
        type: "ns:org:QueryType:NoSql",
        value: {
          expression: {
            collection: "Group",
            query: { $and: [{ poverty_score: { $lt: 5 } }, { group_size: { $lt: 5 } }] },
          },
        },
      },
    });
    assert.equal(groups.data?.reg_record_type, "Group");
    assert.deepEqual(ids(groups), ["G1"]);
    const g = groups.data!.reg_records[0] as Record<string, unknown>;
    assert.equal((g.member_list as unknown[]).length, 3);
    assert.equal((g.group_head_info as Record<string, unknown>)["@id"], "P1");
    const mongo = await searchOne(deps, {
      query_type: "expression",
      query: {
        type: "mongo",
        value: {
          expression: {
            $or: [{ given_name: "Femi" }, {
              birth_date: { $gte: "2020-01-01", $ne: "2020-11-03" },
              sex: { $in: ["female"] },
            }],
          },
        },
      },
      sort: [{ attribute_name: "given_name", sort_order: "desc" }],
    });
    assert.deepEqual(ids(mongo), ["P6", "P5", "P3"]);
    const nor = await searchOne(deps, {
      query_type: "expression",
      query: { value: { expression: { $nor: [{ sex: "male" }], surname: { $nin: ["Diallo"] } } } },
    });
    assert.deepEqual(ids(nor), ["P5", "P8"]);
    const openspp = await searchOne(deps, {
      query_type: "expression",
      query: {
        type: "openspp",
        value: {
          expression: {
            seq: [{ attribute: "region", operator: "=", value: "central_region" }],
            or: [{ attribute: "sex", operator: "eq", value: "male" }, {
              attribute: "birth_date",
              operator: ">",
              value: "2019-01-01",
            }],
          },
        },
      },
    });
    // OpenSPP reads {seq, or} as (seq AND …) OR or[0] OR or[1]: central_region, or male, or born after 2019.
    assert.deepEqual(ids(openspp), ["P1", "P2", "P3", "P4", "P5", "P6"]);
    const sample = await searchOne(deps, {
      query_type: "expression",
      query: [{
        seq_num: 1,
        expression1: { attribute_name: "age", operator: "lt", attribute_value: "25" },
        condition: "and",
        expression2: { attribute_name: "poverty_score", operator: "lt", attribute_value: "2.5" },
      }],
    });
    assert.equal(sample.status, "succ", "official sample: a predicate list sent as expression");
  } finally {
    deps.close();
  }
});

Deno.test("search: sort on allowlisted attributes, paging edges and the page_size cap", async () => {
  const deps = await fixtureDeps({ maxPageSize: "3" });
  try {
    const all = {
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "1900-01-01" },
      }],
    };
    const sorted = await searchOne(deps, {
      ...all,
      sort: [{ attribute_name: "birth_date", sort_order: "desc" }, { attribute_name: "surname" }],
      pagination: { page_size: 3, page_number: 1 },
    });
    assert.deepEqual(ids(sorted), ["P3", "P5", "P8"]);
    const last = await searchOne(deps, {
      ...all,
      sort: [{ attribute_name: "birth_date", sort_order: "desc" }],
      pagination: { page_size: 3, page_number: 3 },
    });
    assert.deepEqual(ids(last), ["P2"]);
    assert.deepEqual(last.pagination, { page_size: 3, page_number: 3, total_count: 7 });
    const past = await searchOne(deps, { ...all, pagination: { page_size: 3, page_number: 9 } });
    assert.equal(past.status, "succ");
    assert.deepEqual(ids(past), []);
    assert.equal(past.pagination?.total_count, 7);
    const capped = await searchOne(deps, { ...all, pagination: { page_size: 500 } });
    assert.equal(capped.pagination?.page_size, 3);
    assert.equal(ids(capped).length, 3);
  } finally {
    deps.close();
  }
});

Deno.test("search: each item rejected with its own code", async () => {
  const deps = await fixtureDeps({ searchMaxResults: "4", maxSearchItems: "20" });
  try {
    const ok = pred("surname", "eq", "Diallo");
    const request = [
      item(ok, "a"),
      item(ok, "a"),
      { ...item(ok, "b"), timestamp: "yesterday" },
      item({ query_type: "graphql", query: { expression: "{ person { name } }" } }, "c"),
      item({ query_type: "whatever", query: {} }, "d"),
      item(pred("password", "eq", "x"), "e"),
      item({ ...ok, sort: [{ attribute_name: "phone", sort_order: "asc" }] }, "f"),
      item({ ...ok, pagination: { page_size: 0 } }, "g"),
      item(pred("birth_date", "ge", "1900-01-01"), "h"),
      item({ ...ok, reg_type: "ns:org:RegistryType:Civil" }, "i"),
      { reference_id: "x".repeat(100), timestamp: "2026-01-01T00:00:00Z", search_criteria: ok },
    ];
    const out = await deps.storage.search.message(deps, {
      registry: "social",
      header: { version: "1.0.0", action: "search", total_count: request.length },
      message: { transaction_id: "t", search_request: request },
    });
    const codes = out.message.search_response.map((r) => r.status_reason_code ?? r.status);
    assert.deepEqual(codes, [
      "succ",
      "rjct.reference_id.duplicate",
      "rjct.timestamp.invalid",
      "rjct.search_criteria.invalid",
      "rjct.search_criteria.invalid",
      "rjct.filter.invalid",
      "rjct.sort.invalid",
      "rjct.pagination.invalid",
      "rjct.search.too_many_records_found",
      "rjct.search_criteria.invalid",
      "rjct.reference_id.invalid",
    ]);
    assert.equal(out.status, "succ");
    assert.equal(out.completedCount, request.length);
  } finally {
    deps.close();
  }
});

Deno.test("searchMessage() rejects bad envelopes at header level; other registries answer not_supported", async () => {
  const deps = await fixtureDeps({ maxSearchItems: "2" });
  try {
    const msg = (n: number) => ({
      transaction_id: "t",
      search_request: Array.from({ length: n }, (_, i) => item(pred("sex", "eq", "male"), `r${i}`)),
    });
    const call = (header: Record<string, unknown>, n = 1) => () =>
      deps.storage.search.message(deps, { registry: "social", header, message: msg(n) });
    const code = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        assert.ok(e instanceof DciRejection);
        return e.code;
      }
      return "no rejection";
    };
    assert.equal(
      await code(call({ version: "2.0.0", action: "search", total_count: 1 })),
      "rjct.version.invalid",
    );
    assert.equal(
      await code(call({ version: "1.0.0", action: "subscribe", total_count: 1 })),
      "rjct.action.invalid",
    );
    // The action in any case, as the route's own check takes it.
    assert.equal(await code(call({ version: "1.0.0", action: "Search", total_count: 1 })), "no rejection");
    assert.equal(
      await code(call({ version: "1.0.0", action: "search", total_count: 2 })),
      "rjct.total_count.invalid",
    );
    assert.equal(
      await code(call({ version: "1.0.0", action: "search", total_count: 3 }, 3)),
      "rjct.total_count.limit_exceeded",
    );
    // A registry of the path vocabulary without a profile yet (crvs answers for real since issue 13).
    const unsupported = REGISTRIES.find((r) => !profileOf(r));
    if (!unsupported) return;
    const crvs = await deps.storage.search.message(deps, {
      registry: unsupported,
      header: { version: "1.0.0", action: "search", total_count: 2 },
      message: msg(2),
    });
    assert.equal(crvs.status, "rjct");
    assert.equal(crvs.statusReasonCode, "rjct.action.not_supported");
    // The header-level code is not an item code (SearchStatusReasonCode): the items carry the reason only.
    assert.deepEqual(crvs.message.search_response.map((r) => [r.status, r.status_reason_code]), [
      ["rjct", undefined],
      ["rjct", undefined],
    ]);
  } finally {
    deps.close();
  }
});
