/**
 * A search message's plain identifier lookups (two or more) are answered in one statement by lookupIdentifiers;
 * every answer must be exactly the one the same item gets alone, through the general path (a message of one
 * item never takes the batched one).
 */
import assert from "node:assert/strict";
import { fixtureDeps, item } from "./fixture.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { plainLookup } from "../../src/registry/id_lookup.ts";

async function message(deps: TestDeps, items: unknown[]) {
  const out = await deps.storage.search.message(deps, {
    registry: "social",
    header: { version: "1.0.0", action: "search", total_count: items.length },
    message: { transaction_id: "t", search_request: items },
  });
  return out.message.search_response;
}

const idtype = (type: unknown, value: unknown, more: Record<string, unknown> = {}) => ({
  query_type: "idtype-value",
  query: { type, value },
  ...more,
});

/** Items that must keep their own answers in a mixed message, each with whether it is a plain lookup. */
const ITEMS: Array<[Record<string, unknown>, boolean | "repeated"]> = [
  [item(idtype("UIN", "U-1"), "a"), true],
  [item(idtype("urn:dci:id:brn", "B-3"), "b"), true],
  [item(idtype("UIN", "NOBODY"), "c"), true],
  [item(idtype("UIN", "U-7"), "d"), true], // deleted
  [item(idtype("HOUSEHOLD_ID", "H-1"), "e"), true], // a group's identifier: no person has it
  [item(idtype("UIN", " U-2 "), "f"), true],
  [item({ ...idtype("UIN", "U-2"), reg_type: "ns:org:RegistryType:Social" }, "g"), true],
  [item(idtype("UIN", "U-3", { reg_record_type: "SRPerson" }), "h"), true],
  // Not plain: each goes the general way.
  [item(idtype("UIN", "U-1", { pagination: { page_size: 1, page_number: 1 } }), "i"), false],
  [item(idtype("UIN", "U-1", { pagination: { page_size: 10, page_number: 2 } }), "j"), false],
  [item(idtype("UIN", "U-1", { sort: [{ attribute_name: "birth_date", sort_order: "desc" }] }), "k"), false],
  [{ ...item(idtype("UIN", "U-2"), "l"), locale: "fra" }, false],
  [item(idtype("HOUSEHOLD_ID", "H-1", { reg_record_type: "Group" }), "m"), false],
  [item(idtype("!!", "U-1"), "n"), false],
  [item(idtype("UIN", 42), "o"), false],
  [item({ query_type: "urn:dci:query:IdType-Value", query: { type: "UIN", value: "U-3" } }, "s"), false],
  [item({ query_type: "idtype-value", query: { id_type: "UIN", id_value: "U-1" } }, "p"), true], // OpenG2P
  // Values the query compiler refuses (rjct.filter.invalid), beside other lookups as alone.
  [item(idtype("UIN", ""), "t"), false],
  [item(idtype("UIN", "   "), "u"), false],
  [item(idtype("UIN", "x".repeat(129)), "v"), false],
  [item(idtype("UIN", "U-1"), "a"), "repeated"], // refused before any item is answered: never looked up
  [{ reference_id: "q", timestamp: "yesterday", search_criteria: idtype("UIN", "U-1") }, false],
  [
    item({
      query_type: "predicate",
      query: [{ expression1: { attribute_name: "sex", operator: "eq", attribute_value: "male" } }],
    }, "r"),
    false,
  ],
];

Deno.test("plain identifier lookups answered together are answered exactly as each alone", async () => {
  const deps = await fixtureDeps({ maxSearchItems: "40" });
  try {
    const ctx = { maxPageSize: deps.config.maxPageSize, now: deps.clock.now() };
    for (const [it, plain] of ITEMS) {
      if (plain !== "repeated") assert.equal(plainLookup(ctx, it) !== undefined, plain, JSON.stringify(it));
    }
    const together = await message(deps, ITEMS.map(([it]) => it));
    assert.equal(together.length, ITEMS.length);
    for (const [i, [it, plain]] of ITEMS.entries()) {
      if (plain === "repeated") {
        assert.equal(together[i].status_reason_code, "rjct.reference_id.duplicate");
        continue;
      }
      const [alone] = await message(deps, [it]);
      assert.deepEqual(together[i], alone, JSON.stringify(it));
    }
    for (const ref of ["t", "u", "v"]) {
      assert.equal(
        together.find((a) => a.reference_id === ref)?.status_reason_code,
        "rjct.filter.invalid",
        ref,
      );
    }
    const found = together.map((a) => (a.data?.reg_records ?? []).map((r) => r["@id"]).join(","));
    assert.deepEqual(found.slice(0, 8), ["P1", "P3", "", "", "", "P2", "P2", "P3"]);
  } finally {
    deps.close();
  }
});
