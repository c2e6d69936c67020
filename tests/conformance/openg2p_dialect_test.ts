/**
 * OpenG2P's DCI client dialect (issue 12 §5, done-when c), as its client code sends it: `query_type:
 * "expression"` with `query.type: "ns:org:QueryType:expression"` and `{"expression": {"query": {"search_text":
 * {"$eq": ID}}}}`, `reg_type` and `reg_record_type` both the literal `"Individual"`, `consent` and `authorize`
 * on every item; and its older idtype-value shape `{type: "idtype-value", value: {id_type, id_value}}`.
 * Signed requests through the real app, answered from real SQLite data (tests/registry/fixture.ts).
 */
import assert from "node:assert/strict";
import { recordIds, searchItemOf, searchResponseErrors, searchSetup, syncSearch } from "./query_support.ts";

const TS = "2026-01-01T00:00:00Z";
const PURPOSE = {
  text: "Eligibility verification",
  code: "ELIGIBILITY_CHECK",
  ref_uri: "https://example.org/c",
};

/** OpenG2P's search criteria for one id (its client's defaults, consent and authorize blocks included). */
function openg2pCriteria(id: string): Record<string, unknown> {
  return {
    reg_type: "Individual",
    reg_record_type: "Individual",
    query_type: "expression",
    query: {
      type: "ns:org:QueryType:expression",
      value: { expression: { query: { search_text: { $eq: id } } } },
    },
    pagination: { page_size: 1, page_number: 1 },
    consent: {
      "@context": "https://schema.spdci.org/common/v1/api-schemas/Consent.jsonld",
      "@type": "Consent",
      ts: TS,
      purpose: PURPOSE,
    },
    authorize: {
      "@context": "https://schema.spdci.org/common/v1/api-schemas/Authorize.jsonld",
      "@type": "Authorize",
      ts: TS,
      purpose: PURPOSE,
    },
  };
}

Deno.test("OpenG2P dialect: an expression search_text $eq of an identifier value returns that person", async () => {
  const s = await searchSetup();
  try {
    const { status, json, items } = await syncSearch(s, [
      searchItemOf(openg2pCriteria("U-4"), "ref-uin"),
      searchItemOf(openg2pCriteria("B-5"), "ref-brn"),
    ]);
    assert.equal(status, 200);
    assert.equal(items[0].status, "succ", JSON.stringify(items[0]));
    assert.deepEqual(recordIds(items[0]), ["P4"], "UIN U-4 is Daudi Mensah");
    assert.deepEqual(recordIds(items[1]), ["P5"], "an identifier of any type (BRN B-5)");
    // OpenG2P's client reads data.reg_records[0] and its identifiers.
    const record = items[0].data.reg_records[0];
    assert.deepEqual(record.identifier, [{
      "@type": "Identifier",
      identifier_type: "UIN",
      identifier_value: "U-4",
    }]);
    assert.deepEqual(searchResponseErrors(json.message), []);
  } finally {
    s.deps.close();
  }
});

Deno.test("OpenG2P dialect: search_text also names a record by its @id or a name part; an unknown one finds nothing", async () => {
  const s = await searchSetup();
  try {
    const { items } = await syncSearch(s, [
      searchItemOf({ ...openg2pCriteria("P6"), pagination: { page_size: 10 } }, "by-id"),
      searchItemOf({ ...openg2pCriteria("perera"), pagination: { page_size: 10 } }, "by-name"),
      searchItemOf(openg2pCriteria("IND-NSR-0001"), "unknown"),
      searchItemOf(openg2pCriteria("U-7"), "deleted"),
    ]);
    assert.deepEqual(recordIds(items[0]), ["P6"]);
    assert.deepEqual(recordIds(items[1]), ["P8"], "a surname, case-insensitively");
    assert.equal(items[2].status, "succ");
    assert.deepEqual(recordIds(items[2]), []);
    assert.equal(items[2].pagination.total_count, 0);
    assert.deepEqual(recordIds(items[3]), [], "P7 is deleted: its identifier finds nothing");
  } finally {
    s.deps.close();
  }
});

Deno.test("OpenG2P dialect: the older idtype-value shape {id_type, id_value} returns the record", async () => {
  const s = await searchSetup();
  try {
    const { json, items } = await syncSearch(s, [
      searchItemOf({
        reg_type: "Individual",
        reg_record_type: "Individual",
        query_type: "idtype-value",
        query: { type: "idtype-value", value: { id_type: "UIN", id_value: "U-5" } },
      }, "older"),
      searchItemOf({ query_type: "idtype-value", query: { id_type: "BRN", id_value: "B-3" } }, "bare"),
      searchItemOf(
        { query_type: "idtype-value", query: { type: "idtype-value", value: { id_type: "UIN" } } },
        "half",
      ),
    ]);
    assert.deepEqual(recordIds(items[0]), ["P5"]);
    assert.deepEqual(recordIds(items[1]), ["P3"]);
    assert.equal(items[2].status, "rjct");
    assert.equal(items[2].status_reason_code, "rjct.search_criteria.invalid");
    assert.match(items[2].status_reason_message, /id_value/);
    assert.deepEqual(searchResponseErrors(json.message), []);
  } finally {
    s.deps.close();
  }
});

Deno.test("OpenG2P dialect: reg_type Individual answers persons; the social registry's other spellings are accepted", async () => {
  const s = await searchSetup();
  try {
    const all = { query_type: "expression", query: { value: { expression: { seq: [] } } } };
    const regTypes = [
      "Individual",
      "INDIVIDUAL",
      "SPP:RegistryType:Individual",
      "ns:org:RegistryType:Social",
      "ns:org:registrytype:social",
      "social",
      "SOCIAL_REGISTRY",
    ];
    const { items } = await syncSearch(
      s,
      regTypes.map((t, i) => searchItemOf({ ...all, reg_type: t }, `r${i}`)),
    );
    for (const [i, t] of regTypes.entries()) {
      assert.equal(items[i].status, "succ", `${t}: ${items[i].status_reason_message}`);
      assert.deepEqual(recordIds(items[i]), ["P1", "P2", "P3", "P4", "P5", "P6", "P8"], t);
    }
    const groups = await syncSearch(s, [
      searchItemOf({ ...all, reg_type: "SPP:RegistryType:Group" }, "g"),
      searchItemOf({ ...all, reg_type: "ns:org:RegistryType:Civil" }, "civil"),
    ]);
    assert.deepEqual(
      recordIds(groups.items[0]),
      ["G1", "G2"],
      "OpenSPP's Group registry type answers households",
    );
    assert.equal(groups.items[0].data.reg_record_type, "Group");
    assert.equal(groups.items[1].status_reason_code, "rjct.search_criteria.invalid");
  } finally {
    s.deps.close();
  }
});
