/**
 * The identifier lookup's first page in one statement (src/registry/search_lookup.ts): the same answers as
 * before, one statement read with all() instead of a page read with iterate() and then the rows.
 */
import assert from "node:assert/strict";
import { StatementSync } from "node:sqlite";
import { fixtureDeps, ids, pred, searchOne } from "./fixture.ts";
import { identifierPage } from "../../src/registry/search_lookup.ts";
import { toSql } from "../../src/registry/query_sql.ts";
import { socialRegistry } from "../../src/registries/index.ts";
import { parseQuery } from "../../src/registry/query_parse.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

/** The statements (method and SQL) that `fn` runs over the registry tables. */
function registryStatements(fn: () => void): string[] {
  const ran: string[] = [];
  const proto = StatementSync.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const originals = { get: proto.get, all: proto.all, iterate: proto.iterate };
  for (const [name, original] of Object.entries(originals)) {
    proto[name] = function (this: StatementSync, ...params: unknown[]) {
      if (/\bregistrants\b/.test(this.sourceSQL)) ran.push(`${name} ${this.sourceSQL}`);
      return original.apply(this, params);
    };
  }
  try {
    fn();
  } finally {
    Object.assign(proto, originals);
  }
  return ran;
}

const lookup = (type: string, value: string, extra: Record<string, unknown> = {}) => ({
  query_type: "idtype-value",
  query: { type, value },
  ...extra,
});

Deno.test({
  name: "search: an identifier lookup runs one statement, read with all(), carrying the records' data",
  // The statements of node:sqlite (StatementSync) that the SQLite search runs; PostgreSQL's search has its own.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await fixtureDeps();
  try {
    let pending: ReturnType<typeof searchOne> | undefined;
    // On SQLite the search runs its statements within the call (the promise only carries the answer).
    const ran = registryStatements(() => void (pending = searchOne(deps, lookup("UIN", "U-4"))));
    const answer = await pending;
    assert.equal(ran.length, 1, ran.join("\n"));
    assert.match(
      ran[0],
      /^all SELECT r\.id, d\.data, r\.deleted_at FROM registrants r JOIN registrant_data d/,
    );
    assert.deepEqual(ids(answer!), ["P4"]);
    assert.equal(answer!.pagination?.total_count, 1);
    assert.equal(answer!.pagination?.next_cursor, undefined);
  } finally {
    deps.close();
  }
});

Deno.test("search: identifier lookups answer as before: deleted people, other pages, groups", async () => {
  const deps = await fixtureDeps();
  try {
    assert.deepEqual(ids(await searchOne(deps, lookup("UIN", "U-7"))), [], "P7 is deleted");
    assert.equal((await searchOne(deps, lookup("UIN", "U-7"))).pagination?.total_count, 0);
    // A second page is not the first page: it counts and pages under the statement budget as any search.
    const second = await searchOne(
      deps,
      lookup("UIN", "U-4", { pagination: { page_size: 1, page_number: 2 } }),
    );
    assert.equal(second.status, "succ");
    assert.deepEqual(ids(second), []);
    assert.equal(second.pagination?.total_count, 1);
    const group = await searchOne(deps, lookup("HOUSEHOLD_ID", "H-1", { reg_record_type: "Group" }));
    assert.deepEqual(ids(group), ["G1"]);
    const members = (group.data!.reg_records[0] as { member_list?: unknown[] }).member_list;
    assert.ok(Array.isArray(members) && members.length > 0, JSON.stringify(group.data!.reg_records[0]));
  } finally {
    deps.close();
  }
});

Deno.test({
  name: "identifierPage() leaves a match of more than a page to the budgeted path",
  // identifierPage() is the SQLite search's statement on the embedded database (deps.db).
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await fixtureDeps();
  try {
    const profile = socialRegistry();
    const person = profile.recordTypes.find((t) => t.kind === "person")!;
    const where = toSql(
      parseQuery("predicate", [{
        expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
      }]).cond,
      {
        recordType: "person",
        storage: person.storage,
        attributes: profile.attributes,
        idTypes: profile.idTypes,
        today: "2026-01-01",
        mode: "search",
      },
    );
    const q = { where, storage: person.storage, groupStorage: "group", sort: [], pageSize: 1 };
    assert.equal(identifierPage(deps.db, q), undefined, "more rows than the page");
    assert.ok((identifierPage(deps.db, { ...q, pageSize: 50 }) ?? []).length > 1);
  } finally {
    deps.close();
  }
});

Deno.test("search: an identifier value given as a number beyond 2^53 is refused, not looked up rounded", async () => {
  const deps = await fixtureDeps();
  try {
    // JSON.parse has already rounded 9007199254740993 to …992: looking that up would answer for another person.
    for (
      const criteria of [
        lookup("UIN", 9007199254740993 as unknown as string),
        pred("UIN", "eq", 9007199254740993),
        pred("identifier", "eq", { type: "UIN", value: 9007199254740993 }),
        pred("search_text", "in", ["U-1", 9007199254740993]),
        // OpenG2P's form.
        { query_type: "expression", query: { query: { search_text: { $eq: 9007199254740993 } } } },
      ]
    ) {
      const answer = await searchOne(deps, criteria);
      assert.equal(answer.status, "rjct", JSON.stringify(criteria));
      assert.match(
        answer.status_reason_message ?? "",
        /9007199254740992 is a number beyond 2\^53.*send it as a string/,
      );
    }
    // A number within 2^53 is looked up as its text.
    const safe = await searchOne(deps, lookup("UIN", 9007199254740991 as unknown as string));
    assert.equal(safe.status, "succ");
    assert.equal(safe.pagination?.total_count, 0);
  } finally {
    deps.close();
  }
});
