/**
 * The IBR endpoint handlers over an in-memory store: `sync/enrolled` answers yes/no as the yaml's EnrolledResponse,
 * `sync/enrollment/updates` writes beneficiaries and answers the yaml's EnrollmentUpdatesResponse. Requests are the
 * yaml's and the sample flows' own examples; answers are validated against ibr_api_v1.0.0.yaml.
 */
import assert from "node:assert/strict";
import { specErrors } from "../helpers/spec_validator.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import type { ActionInput, ProfileAction } from "../../src/registries/profile.ts";
import { answerEnrolled } from "../../src/registries/ibr/enrolled.ts";
import { applyEnrollmentUpdates } from "../../src/registries/ibr/enrollment_updates.ts";
import { rejectedEnrolled, rejectedUpdates } from "../../src/registries/ibr/rejected.ts";
import { memoryStore } from "./ibr_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SAMPLES = new URL(
  "../../../shared/dci-spec/spdci-standards/release/sample-jsons/example_files/ibr/",
  import.meta.url,
);

function action(path: string): ProfileAction {
  return ibrProfile.actions.find((a) => a.path === path)!;
}

function input(path: string, message: Json, header: Json = {}): ActionInput {
  return {
    registry: "ibr",
    senderId: "spmis.example.org",
    header: { message_id: "m-1", ...header },
    message: action(path).request.parse(message) as Json,
    correlationId: "corr-1",
    now: Date.parse("2026-01-01T00:00:00Z"),
  };
}

async function enrolled(store: ReturnType<typeof memoryStore>, query: Json, extra: Json = {}): Promise<Json> {
  const result = await answerEnrolled(
    store,
    input("/sync/enrolled", {
      transaction_id: "t-1",
      enrolled_criteria: { query_type: "expression", query, ...extra },
    }),
  );
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrolledResponse", result.message), []);
  assert.deepEqual(action("/sync/enrolled").response.safeParse(result.message).success, true);
  return (result.message as Json).enrolled_response[0];
}

Deno.test("sync/enrolled answers the yaml's own example: ABC451123 is enrolled in DCI001", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const item = await enrolled(store, {
    person_identifier: { eq: "ABC451123" },
    "programme_identifier.program.programme_identifier": { eq: "DCI001" },
  });
  assert.deepEqual(item, {
    reference_id: "1",
    timestamp: "2026-01-01T00:00:00.000Z",
    status: "succ",
    enrolled_status: "yes",
  });
});

Deno.test("sync/enrolled says no for another programme, an unknown person and a status the query excludes", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  assert.equal(
    (await enrolled(store, { person_identifier: { eq: "ABC451123" }, programme: { eq: "OTHER" } }))
      .enrolled_status,
    "no",
  );
  assert.equal((await enrolled(store, { person_identifier: { eq: "NOBODY" } })).enrolled_status, "no");
  assert.equal(
    (await enrolled(store, { UIN: "BENEFICIARY-TEST-001", enrollment_status: "Suspended" })).enrolled_status,
    "no",
  );
  assert.equal(
    (await enrolled(store, { UIN: "BENEFICIARY-TEST-001", enrollment_status: "1" })).enrolled_status,
    "yes",
  );
  assert.equal(
    (await enrolled(store, { NID: { eq: "BENEFICIARY-TEST-001" } })).enrolled_status,
    "no",
    "typed: NID differs",
  );
  assert.equal(
    (await enrolled(store, { person_identifier: "ABC451123" }, { response_entity: "Group" })).enrolled_status,
    "no",
  );
});

Deno.test("sync/enrolled reads the predicate, single-expression and idtype-value forms", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const sample = JSON.parse(Deno.readTextFileSync(new URL("processflow2req.json", SAMPLES)));
  sample.message.transaction_id = "t-2";
  sample.message.enrolled_criteria.query.attribute_value = "ABC451123";
  const fromSample = await answerEnrolled(store, input("/sync/enrolled", sample.message));
  assert.equal(
    (fromSample.message as Json).enrolled_response[0].enrolled_status,
    "yes",
    "the sample flow's request",
  );
  const predicate = [{
    seq_num: 1,
    expression1: { attribute_name: "UIN", operator: "eq", attribute_value: "BENEFICIARY-TEST-001" },
    condition: "and",
    expression2: { attribute_name: "programme_identifier", operator: "eq", attribute_value: "DCI001" },
  }];
  assert.equal((await enrolled(store, predicate, { query_type: "predicate" })).enrolled_status, "yes");
  // The yaml's EnrolledRequest query is an object: one predicate, as dr's sync/disabled takes it.
  assert.equal((await enrolled(store, predicate[0], { query_type: "predicate" })).enrolled_status, "yes");
  const other = {
    seq_num: 1,
    expression1: { attribute_name: "UIN", operator: "eq", attribute_value: "NOBODY" },
  };
  const no = await enrolled(store, other, { query_type: "predicate" });
  assert.equal(no.enrolled_status, "no");
  assert.equal(no.status, "succ");
  const or = await enrolled(store, { ...predicate[0], condition: "or" }, { query_type: "predicate" });
  assert.equal(or.status, "rjct");
  assert.match(or.status_reason_message, /^query\.condition: only "and"/);
  assert.equal(
    (await enrolled(store, { type: "uin", value: "BENEFICIARY-TEST-001" }, { query_type: "idtype-value" }))
      .enrolled_status,
    "yes",
  );
});

Deno.test("sync/enrolled rejects a query it cannot answer, per item, with the reason and no record", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const gt = await enrolled(store, { person_identifier: { gt: "A" } });
  assert.equal(gt.status, "rjct");
  assert.equal(gt.enrolled_status, "no");
  assert.match(gt.status_reason_message, /operator "gt" is not supported/);
  assert.match((await enrolled(store, { programme: "DCI001" })).status_reason_message, /names no person/);
  assert.match(
    (await enrolled(store, { surname: "Test3" })).status_reason_message,
    /surname: unknown attribute/,
  );
  assert.match(
    (await enrolled(store, { UIN: "x" }, { response_entity: "Farm" })).status_reason_message,
    /not Group or Member/,
  );
  const batch = await answerEnrolled(
    store,
    input("/sync/enrolled", {
      transaction_id: "t",
      enrolled_criteria: [{ query: { UIN: "BENEFICIARY-TEST-001" } }, {
        reference_id: "r2",
        query: { UIN: "no" },
      }],
    }),
  );
  assert.deepEqual(
    (batch.message as Json).enrolled_response.map((i: Json) => [i.reference_id, i.enrolled_status]),
    [
      ["1", "yes"],
      ["r2", "no"],
    ],
  );
  assert.equal(action("/sync/enrolled").request.safeParse({ transaction_id: "t" }).success, false);
  // A criteria without a query (none of its fields is required in the yaml) is its own rjct item.
  const bare = await answerEnrolled(
    store,
    input("/sync/enrolled", { transaction_id: "t", enrolled_criteria: { query_type: "idtype-value" } }),
  );
  const [item] = (bare.message as Json).enrolled_response;
  assert.deepEqual([item.status, item.enrolled_status], ["rjct", "no"]);
  assert.match(item.status_reason_message, /query is missing/);
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrolledResponse", bare.message), []);
});

Deno.test("sync/enrollment/updates without beneficiaries (optional in the yaml) answers an empty enrolled_response", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const result = await applyEnrollmentUpdates(
    store,
    input("/sync/enrollment/updates", { transaction_id: "t-e", enrolled_updates: {} }),
  );
  assert.deepEqual((result.message as Json).enrolled_response, []);
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrollmentUpdatesResponse", result.message), []);
});

async function updates(
  store: ReturnType<typeof memoryStore>,
  beneficiaries: Json[],
  receiptType?: string,
): Promise<Json[]> {
  const result = await applyEnrollmentUpdates(
    store,
    input("/sync/enrollment/updates", {
      transaction_id: "t-u",
      enrolled_updates: { ...(receiptType ? { receipt_type: receiptType } : {}), beneficiaries },
    }),
  );
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrollmentUpdatesResponse", result.message), []);
  return (result.message as Json).enrolled_response;
}

/** The sample flow's beneficiary (processflow1req.json), its programme in its member as published, dates made ISO. */
function sampleBeneficiary(): Json {
  const sample = JSON.parse(Deno.readTextFileSync(new URL("processflow1req.json", SAMPLES)));
  const b = sample.message.receipt_information.beneficiaries[0];
  // The sample writes one date as 02.05.2024, which the IBR refuses as any other non-ISO date.
  b.member.programme_identifier.benefits.benefit_date = "2024-05-02";
  return b;
}

Deno.test("sync/enrollment/updates: a copy finds the records it created; another body under the same message_id makes its own", async () => {
  const store = memoryStore();
  const programme_identifier = [{
    programme_identifier: "DCI001",
    programme_name: "Test Programme",
    enrolment_date: "2025-03-01",
    enrolment_status: "Active",
  }];
  const named = (surname: string) => ({
    member: { demographic_info: { name: { surname } } },
    programme_identifier,
  });
  const surnames = () => store.all().map((r) => r.name.surname).sort();
  const first = await updates(store, [named("First")]);
  assert.deepEqual(first.map((i: Json) => i.status), ["succ"], JSON.stringify(first));
  // The same request again (a retry): the record it created is found by the id derived from the request.
  assert.deepEqual((await updates(store, [named("First")])).map((i: Json) => i.status), ["succ"]);
  assert.deepEqual(surnames(), ["First"]);
  // Another message under the same message_id: its own record, the first left as it was.
  assert.deepEqual((await updates(store, [named("Second")])).map((i: Json) => i.status), ["succ"]);
  assert.deepEqual(surnames(), ["First", "Second"]);
});

Deno.test("sync/enrollment/updates writes the sample flow's beneficiary and answers succ per beneficiary", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const items = await updates(store, [sampleBeneficiary()]);
  assert.equal(items[0].status, "succ", JSON.stringify(items));
  const written = await store.findByIdentifier({ value: "0205202401" }, ["ibr_person"], 5);
  assert.equal(written.length, 1);
  const d = written[0].details as Json;
  assert.equal(d.enrolments[0].programme_identifier, "DCI001");
  assert.equal(d.enrolments[0].enrollment_status, "Active");
  assert.equal(d.enrolments[0].benefits[0].benefit_value, "USD 50");
});

Deno.test("sync/enrollment/updates: a programme given both on the Beneficiary and in its member is refused, naming both", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const before = store.all().length;
  const b = sampleBeneficiary();
  b.programme_identifier = b.member.programme_identifier;
  const [item] = await updates(store, [b]);
  assert.equal(item.status, "rjct");
  assert.match(
    item.status_reason_message,
    /programme_identifier is given both on the Beneficiary and in its member/,
  );
  assert.equal(store.all().length, before);
});

Deno.test("sync/enrollment/updates: a household's group_head_info is written as its head member, or marks the listed one", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const person = (id: string, surname: string) => ({
    member_identifier: [{ identifier_type: "NID", identifier_value: id }],
    demographic_info: { person: { name: { surname }, sex: "F", birth_date: "1980-04-12" } },
  });
  const unnamed = (surname: string) => ({
    demographic_info: { person: { name: { surname }, birth_date: "1990-01-01" } },
  });
  const household = (id: string, head: Json, list: Json[]) => ({
    assistance_unit: "2",
    group: {
      group_identifier: [{ identifier_type: "HH", identifier_value: id }],
      group_head_info: head,
      member_list: list,
      programme_identifier: {
        programme: { programme_identifier: "DCI001", programme_name: "Test Programme" },
        enrolment_date: "2024-04-12",
        enrolment_status: "Active",
      },
    },
  });
  const items = await updates(store, [
    household("HH-A", person("N-HEAD", "Head"), [person("N-KID", "Kid")]),
    household("HH-B", person("N-B1", "Listed"), [person("N-B1", "Listed"), person("N-B2", "Other")]),
    // A head without identifiers, listed too: the same name, sex and birth date are the one person.
    household("HH-C", unnamed("Anon"), [unnamed("Anon")]),
    // A son of the head's name, listed as a child: not the head, who is written too.
    household("HH-D", unnamed("Perez"), [{
      ...unnamed("Perez"),
      related_person: [{ relationship_type: "CHILD" }],
    }]),
  ]);
  assert.deepEqual(items.map((i: Json) => i.status), ["succ", "succ", "succ", "succ"], JSON.stringify(items));
  const one = async (value: string) => (await store.findByIdentifier({ value }, ["ibr_person"], 5))[0];
  const group = async (value: string) => (await store.findByIdentifier({ value }, ["ibr_group"], 5))[0];
  const [a, b] = [await group("HH-A"), await group("HH-B")];
  assert.deepEqual((a.details as Json).enrolments.map((e: Json) => e.programme_identifier), ["DCI001"]);
  const head = await one("N-HEAD");
  assert.deepEqual([head.groupRef, head.relationship], [a.externalId, "HEAD"]);
  assert.deepEqual([(await one("N-KID")).groupRef, (await one("N-KID")).relationship], [
    a.externalId,
    undefined,
  ]);
  // Named in member_list too: written once, marked the head.
  assert.deepEqual(
    store.all().filter((r) => r.groupRef === b.externalId).map((r) => [r.name.surname, r.relationship])
      .sort(),
    [["Listed", "HEAD"], ["Other", undefined]],
  );
  const [c, d] = [await group("HH-C"), await group("HH-D")];
  const household_ = (g: { externalId: string }) =>
    store.all().filter((r) => r.groupRef === g.externalId).map((r) => [r.name.surname, r.relationship])
      .sort();
  assert.deepEqual(household_(c), [["Anon", "HEAD"]]);
  assert.deepEqual(household_(d), [["Perez", "CHILD"], ["Perez", "HEAD"]]);
});

Deno.test("sync/enrollment/updates merges an update into the stored beneficiary: status changed, programme added", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const record: Json = ibrProfile.toRecord(
    (await store.getByExternalId("IBR-TEST-001", ["ibr_person"]))!,
    ibrProfile.recordTypes[0],
    {
      withContext: true,
    },
  );
  record.programme_identifier = [
    { ...record.programme_identifier[0], enrolment_status: "Suspended" },
    {
      programme_identifier: "PRG9",
      programme_name: "Second",
      enrolment_date: "2025-01-01",
      enrolment_status: "Active",
    },
  ];
  delete record.enrollment_status;
  delete record.benefits;
  const items = await updates(store, [record], "updated");
  assert.deepEqual(items.map((i) => [i.reference_id, i.status]), [["IBR-TEST-001", "succ"]]);
  const after = (await store.getByExternalId("IBR-TEST-001", ["ibr_person"]))!;
  assert.deepEqual(
    (after.details as Json).enrolments.map((e: Json) => [e.programme_identifier, e.enrollment_status]),
    [
      ["DCI001", "Suspended"],
      ["PRG9", "Active"],
    ],
  );
  assert.equal((after.details as Json).enrolments[0].benefits.length, 1, "the benefits received stay");
  assert.equal(store.all().filter((r) => r.externalId === "IBR-TEST-001").length, 1);
});

Deno.test("sync/enrollment/updates refuses each bad beneficiary on its own, naming the field, writing nothing of it", async () => {
  const store = memoryStore(ibrProfile.demo(0, 1));
  const before = store.all().length;
  const good = sampleBeneficiary();
  const unknownField = { ...sampleBeneficiary(), reference_id: "bad-1", payment_channel: "bank" };
  const badStatus = sampleBeneficiary();
  badStatus.reference_id = "bad-2";
  badStatus.member.member_identifier = [{ identifier_type: "NID", identifier_value: "X-2" }];
  badStatus.member.demographic_info.person.identifier = [];
  badStatus.member.programme_identifier.enrolment_status = "Enrolled";
  const items = await updates(store, [unknownField, badStatus, good]);
  assert.deepEqual(items.map((i) => [i.reference_id, i.status]), [["bad-1", "rjct"], ["bad-2", "rjct"], [
    "3",
    "succ",
  ]]);
  assert.match(items[0].status_reason_message, /beneficiaries\[0\]\.payment_channel: unknown field/);
  assert.match(
    items[1].status_reason_message,
    /enrollment_status: "Enrolled" is not in EnrollmentStatusEnum/,
  );
  assert.equal(store.all().length, before + 1);
  const unknown = await updates(
    store,
    [{ ...sampleBeneficiary(), member: { member_identifier: "NEW-1" } }],
    "updated",
  );
  assert.match(unknown[0].status_reason_message, /no beneficiary with these identifiers/);
  assert.equal(action("/sync/enrollment/updates").request.safeParse({ transaction_id: "t" }).success, false);
});

Deno.test("IBR header-level refusals are complete answers of each endpoint, every item rjct with the reason", () => {
  const ids = { correlationId: "c", now: "2026-01-01T00:00:00.000Z", reason: "rjct.version.invalid: 9.9" };
  const enrolled = rejectedEnrolled({ transaction_id: "t", enrolled_criteria: { query: {} } }, ids);
  assert.equal(enrolled.items, 1);
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrolledResponse", enrolled.message), []);
  assert.deepEqual((enrolled.message as Json).enrolled_response[0], {
    reference_id: "1",
    timestamp: ids.now,
    status: "rjct",
    status_reason_message: ids.reason,
    enrolled_status: "no",
  });
  const updates = rejectedUpdates({
    transaction_id: "t",
    receipt_information: { beneficiaries: [{ "@id": "B-1" }, { reference_id: "r2" }] },
  }, ids);
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrollmentUpdatesResponse", updates.message), []);
  assert.deepEqual((updates.message as Json).enrolled_response.map((i: Json) => i.reference_id), [
    "B-1",
    "r2",
  ]);
  const garbage = rejectedUpdates("not an object", ids);
  assert.deepEqual(garbage, {
    message: { transaction_id: "", correlation_id: "c", enrolled_response: [] },
    items: 0,
  });
  assert.deepEqual(specErrors("ibr", "/components/schemas/EnrollmentUpdatesResponse", garbage.message), []);
});
