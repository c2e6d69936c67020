/**
 * The DR endpoints' handlers (sync/disabled, sync/get-disability-details, sync/get-disability-support) over the
 * demo records: answers checked against the DR yaml's schemas, the zod response schemas and the DR classes.
 * (End to end, signed through the server: tests/registries/dr_e2e_test.ts.)
 */
import assert from "node:assert/strict";
import { drActions, refusedDisabled, refusedSearch } from "../../src/registries/dr/actions/endpoints.ts";
import type { ActionInput, ProfileAction } from "../../src/registries/profile.ts";
import type { Deps } from "../../src/deps.ts";
import type { Registrant } from "../../src/registry/model.ts";
import { DR_TEST_CAREGIVER_UIN, DR_TEST_UIN } from "../../src/registries/dr/demo.ts";
import { demoRegistrants, memoryFinder, readDr } from "./dr_fixture.ts";
import { validateDr } from "./dr_validator.ts";
import { specErrors } from "../helpers/spec_validator.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const NOW = Date.UTC(2026, 5, 1, 12);

function actions(extra: Registrant[] = []): Record<string, ProfileAction> {
  const list = drActions(memoryFinder([...demoRegistrants(20), ...extra]));
  return Object.fromEntries(list.map((a) => [a.path, a]));
}

async function call(action: ProfileAction, criteria: unknown, transactionId = "txn-1") {
  const message = action.request.parse({
    transaction_id: transactionId,
    disabled_criteria: criteria,
  }) as Json;
  const input: ActionInput = {
    registry: "dr",
    senderId: "sp.example.org",
    header: { action: "search" },
    message,
    correlationId: "corr-1",
    now: NOW,
  };
  const result = await action.handle({} as Deps, input);
  assert.deepEqual(action.response.safeParse(result.message).error?.issues, undefined, "zod response schema");
  return result as Omit<typeof result, "message"> & { message: Json };
}

const SCHEMAS: Record<string, string> = {
  "/sync/disabled": "DisabledResponse",
  "/sync/get-disability-details": "GetDisabilityInfoResponse",
  "/sync/get-disability-support": "GetDisabilitySupportResponse",
};

function assertSpec(path: string, message: unknown): void {
  assert.deepEqual(
    specErrors("dr", `/components/schemas/${SCHEMAS[path]}`, message),
    [],
    `yaml ${SCHEMAS[path]}`,
  );
}

const byUin = (value: string) => ({ query_type: "idtype-value", query: { type: "UIN", value } });

Deno.test("sync/disabled answers yes for the test person with an approved disability, and nothing more", async () => {
  const result = await call(actions()["/sync/disabled"], byUin(DR_TEST_UIN));
  assertSpec("/sync/disabled", result.message);
  assert.equal(result.status, "succ");
  assert.deepEqual(result.message, {
    transaction_id: "txn-1",
    correlation_id: "corr-1",
    disabled_response: [{
      reference_id: "txn-1",
      timestamp: new Date(NOW).toISOString(),
      status: "succ",
      disabled_status: "yes",
    }],
  });
});

Deno.test("sync/disabled answers no for a registered person without an approved disability and for a stranger", async () => {
  const pending = readDr({
    id: "p-1",
    identifier: [{ identifier_type: "UIN", identifier_value: "PENDING-1" }],
    details: { disability_status: "Pending", disability_details: [{ impairment_type: "Vision" }] },
  });
  const a = actions([pending])["/sync/disabled"];
  for (const uin of [DR_TEST_CAREGIVER_UIN, "PENDING-1", "NOBODY-HAS-THIS"]) {
    const result = await call(a, byUin(uin));
    assertSpec("/sync/disabled", result.message);
    assert.equal(result.status, "succ", uin);
    assert.equal(result.message.disabled_response[0].disabled_status, "no", uin);
    assert.equal(result.message.disabled_response[0].status, "succ", uin);
  }
});

Deno.test("sync/disabled reads the yaml's expression example and the other identifier forms", async () => {
  const a = actions()["/sync/disabled"];
  const forms = [
    { query_type: "expression", query: { "member.member_identifier": { eq: DR_TEST_UIN } } },
    { query_type: "expression", query: { UIN: { $eq: DR_TEST_UIN } } },
    { query: { identifier: { eq: { type: "UIN", value: DR_TEST_UIN } } } },
    { query: { identifier_type: "uin", identifier_value: DR_TEST_UIN } },
    { query_type: "ns:org:QueryType:idtype-value", query: { id_type: "UIN", id_value: DR_TEST_UIN } },
    {
      query_type: "predicate",
      query: { expression1: { attribute_name: "PWD_ID", operator: "eq", attribute_value: "PWD-TEST-001" } },
    },
    { query_type: "expression", query: { "member.member_identifier": DR_TEST_UIN } },
  ];
  for (const criteria of forms) {
    const result = await call(a, criteria);
    assert.equal(result.message.disabled_response[0].disabled_status, "yes", JSON.stringify(criteria));
  }
});

Deno.test("sync/disabled rejects criteria that do not name one person by identifier, per item", async () => {
  const a = actions()["/sync/disabled"];
  const cases: Array<[unknown, RegExp]> = [
    [
      { query_type: "expression", query: { disability_status: { eq: "Approved" } } },
      /not an identifier attribute/,
    ],
    [{ query_type: "graphql", query: { q: "{ member }" } }, /graphql is not supported/],
    [{ query_type: "idtype-value", query: { value: "X" } }, /needs \{type, value\}/],
    [{ query_type: "expression", query: { UIN: { $gt: "A" } } }, /eq comparisons only/],
    [{ query_type: "expression" }, /must be an object/],
    [{ query_type: "sql", query: { UIN: "x" } }, /not idtype-value, expression or predicate/],
    // Already rounded by the JSON reader: looked up, it would name another person.
    [
      { query_type: "expression", query: { UIN: { eq: 9007199254740993 } } },
      /9007199254740992 is a number beyond 2\^53/,
    ],
  ];
  for (const [criteria, reason] of cases) {
    const result = await call(a, criteria);
    assertSpec("/sync/disabled", result.message);
    const item = result.message.disabled_response[0];
    assert.equal(result.status, "rjct");
    assert.equal(item.status, "rjct");
    assert.equal(item.disabled_status, "no");
    assert.match(item.status_reason_message, reason);
    assert.equal(result.reasonMessage, item.status_reason_message);
  }
});

Deno.test("an identifier value held by two persons under different types is refused unless its type is given", async () => {
  const twin = readDr({ id: "t-1", identifier: [{ identifier_type: "NID", identifier_value: DR_TEST_UIN }] });
  const a = actions([twin])["/sync/get-disability-details"];
  const result = await call(a, {
    query_type: "expression",
    query: { "member.member_identifier": { eq: DR_TEST_UIN } },
  });
  assertSpec("/sync/get-disability-details", result.message);
  assert.equal(result.message.search_response[0].status_reason_code, "rjct.search_criteria.invalid");
  assert.match(result.message.search_response[0].status_reason_message, /more than one person/);
  const typed = await call(a, byUin(DR_TEST_UIN));
  assert.equal(typed.message.search_response[0].data.reg_records[0]["@id"], "DR-TEST-001");
});

Deno.test("sync/get-disability-details answers the person's disability part, without personal details", async () => {
  const result = await call(actions()["/sync/get-disability-details"], byUin(DR_TEST_UIN));
  assertSpec("/sync/get-disability-details", result.message);
  const item = result.message.search_response[0];
  assert.equal(item.status, "succ");
  assert.equal(item.reference_id, "txn-1");
  assert.equal(item.data.version, "1.0.0");
  const [record] = item.data.reg_records;
  assert.deepEqual(validateDr(record, "PWDPerson"), []);
  assert.equal(record.personal_details, undefined);
  assert.equal(record.disability_status, "Approved");
  assert.deepEqual(record.disability_details, [{
    "@type": "DisabilityDetails",
    impairment_type: "Mobility",
    impairment_level: "Severe",
    impairment_cause: "Road accident",
    age_on_set: "Working age",
  }]);
});

Deno.test("sync/get-disability-support answers the person's DisabilitySupport list as one reg_records entry", async () => {
  const result = await call(actions()["/sync/get-disability-support"], byUin(DR_TEST_UIN));
  assertSpec("/sync/get-disability-support", result.message);
  const [supports] = result.message.search_response[0].data.reg_records;
  assert.equal(supports.length, 1);
  for (const s of supports) assert.deepEqual(validateDr(s, "DisabilitySupport"), []);
  assert.equal(supports[0].assistive_technology[0].type, "Wheelchairs");
  assert.equal(
    supports[0].human_assistance[0].caregiver.identifier[0].identifier_value,
    DR_TEST_CAREGIVER_UIN,
  );
});

Deno.test("the details and support endpoints answer a person not in the registry with no records", async () => {
  const a = actions();
  for (const path of ["/sync/get-disability-details", "/sync/get-disability-support"]) {
    const result = await call(a[path], byUin("NOBODY"));
    assertSpec(path, result.message);
    assert.equal(result.status, "succ");
    assert.deepEqual(result.message.search_response[0].data, { version: "1.0.0", reg_records: [] });
  }
  const caregiver = await call(a["/sync/get-disability-support"], byUin(DR_TEST_CAREGIVER_UIN));
  assert.deepEqual(caregiver.message.search_response[0].data.reg_records, [[]]);
});

Deno.test("the DR request schemas take the yaml's requests and refuse one without transaction_id", () => {
  const a = actions();
  const yamlExample = {
    transaction_id: "0123456789",
    disabled_criteria: {
      query_type: "expression",
      query: { "member.member_identifier": { eq: "ABC451123" } },
    },
  };
  for (const path of Object.keys(SCHEMAS)) {
    assert.equal(a[path].request.safeParse(yamlExample).success, true, path);
    assert.equal(a[path].request.safeParse({ disabled_criteria: {} }).success, false, path);
    assert.equal(a[path].requestAction, "search");
    assert.equal(a[path].responseAction, "on-search");
  }
});

Deno.test("the DR refusals of a whole request are complete answers of each endpoint's yaml schema", () => {
  const ids = {
    correlationId: "corr-9",
    now: new Date(NOW).toISOString(),
    reason: "version 9.9 is not supported",
  };
  const disabled = refusedDisabled({ transaction_id: "txn-9", disabled_criteria: {} }, ids);
  assertSpec("/sync/disabled", disabled.message);
  assert.equal(disabled.items, 1);
  assert.deepEqual(disabled.message.disabled_response, [{
    reference_id: "txn-9",
    timestamp: ids.now,
    status: "rjct",
    status_reason_message: ids.reason,
    disabled_status: "no",
  }]);
  for (const path of ["/sync/get-disability-details", "/sync/get-disability-support"]) {
    const refused = refusedSearch({ transaction_id: { not: "a string" } }, ids);
    assertSpec(path, refused.message);
    assert.equal(refused.message.transaction_id, "");
    assert.equal((refused.message.search_response as Json[])[0].status, "rjct");
  }
});
