/**
 * The IBR registry on the real store (SQLite, the generic writers and search): the demo imports, every demo record
 * is answered by its identifier with a record valid against the IBR classes, each IBR attribute searches through
 * its index, the endpoint handlers read and write the store, and their writes raise the IBR event types.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { specErrors } from "../helpers/spec_validator.ts";
import { registryStartup } from "../../src/registry/startup.ts";
import { runStartupTasks } from "../../src/startup.ts";
import { createApp } from "../helpers/app.ts";
import { unresolvedPlaces } from "../helpers/locations.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { checkIbr, checkProgrammeDeclaration } from "./ibr_jsonld.ts";
import { testEnrolmentUpdate } from "./ibr_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NOW = Date.parse("2026-01-01T12:00:00Z");

async function ibrDeps(count = 120): Promise<TestDeps> {
  const deps = await testDeps({}, { now: NOW });
  const now = () => new Date(deps.clock.now()).toISOString();
  const source = [...ibrProfile.demo(count, 5)].map((raw, i) => ({ line: i + 1, raw }));
  const report = await deps.storage.registryLoad.writeAll(source, { now, profile: ibrProfile });
  assert.equal(report.rejectedCount, 0, JSON.stringify(report.rejected));
  return deps;
}

async function search(deps: TestDeps, criteria: Json): Promise<Json> {
  const out = await deps.storage.search.message(deps, {
    registry: "ibr",
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: {
      transaction_id: "t",
      search_request: [{ reference_id: "r1", timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria }],
    },
    correlationId: "c",
  });
  assert.deepEqual(specErrors("ibr", "/components/schemas/SearchResponse", out.message), []);
  return (out.message as Json).search_response[0];
}

function validRecord(r: Json): string[] {
  if (r["@type"] === "Programme") return checkProgrammeDeclaration(r, "Programme", { top: true });
  return checkIbr(r, r["@type"] === "IBRPerson" ? "Person" : r["@type"], { top: true });
}

function pred(attribute_name: string, operator: string, attribute_value: unknown, extra: Json = {}): Json {
  return {
    query_type: "predicate",
    query: [{ expression1: { attribute_name, operator, attribute_value } }],
    pagination: { page_size: 100 },
    ...extra,
  };
}

Deno.test("IBR on the store: every demo record is answered by its identifier, valid against the IBR classes", async () => {
  const deps = await ibrDeps();
  try {
    for (const raw of ibrProfile.demo(120, 5) as Iterable<Json>) {
      const id = (raw.identifier ?? raw.group_identifier)[0];
      const type = raw.record_type === "Beneficiary" ? undefined : raw.record_type;
      const answer = await search(deps, {
        query_type: "idtype-value",
        query: { type: id.identifier_type, value: id.identifier_value },
        ...(type ? { reg_record_type: type } : {}),
      });
      assert.equal(answer.status, "succ", `${raw.id}: ${JSON.stringify(answer)}`);
      assert.deepEqual(answer.data.reg_records.map((r: Json) => r["@id"]), [raw.id]);
      assert.deepEqual(
        validRecord(answer.data.reg_records[0]),
        [],
        JSON.stringify(answer.data.reg_records[0]),
      );
      assert.equal(answer.data.reg_type, "ns:org:RegistryType:IBR");
    }
    const test = await search(deps, {
      query_type: "idtype-value",
      query: { type: "NID", value: "ABC451123" },
    });
    assert.equal(test.data.reg_records[0].programme_identifier[0].programme_identifier, "DCI001");
    assert.equal(test.data.reg_record_type, "Beneficiary");
  } finally {
    deps.close();
  }
});

Deno.test("IBR search: programme, enrollment_status, enrollment_date range, benefit_type, benefit_date", async () => {
  const deps = await ibrDeps();
  try {
    const all = ([...ibrProfile.demo(120, 5)] as Json[]).filter((r) =>
      r.details?.enrolments && r.record_type === "Beneficiary"
    );
    const expect = (pick: (e: Json) => boolean) =>
      all.filter((r) => r.details.enrolments.some(pick)).map((r) => r.id).sort();
    const ids = (answer: Json) => answer.data.reg_records.map((r: Json) => r["@id"]).sort();
    assert.deepEqual(ids(await search(deps, pred("programme", "eq", "DCI001"))), ["IBR-TEST-001"]);
    const prg3 = expect((e) => e.programme_identifier === "PRG5-3");
    assert.ok(prg3.length > 3);
    assert.deepEqual(ids(await search(deps, pred("programme_identifier", "eq", "PRG5-3"))), prg3);
    // `programme_id` is an alias of the attribute, though PROGRAMME_ID is also an identifier type (programmes').
    assert.deepEqual(ids(await search(deps, pred("programme_id", "eq", "PRG5-3"))), prg3);
    assert.deepEqual(
      ids(await search(deps, pred("enrollment_status", "eq", "suspended"))),
      expect((e) => e.enrollment_status === "Suspended"),
    );
    const range = await search(deps, {
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "enrolment_date", operator: "ge", attribute_value: "2020-01-01" },
        condition: "and",
        expression2: { attribute_name: "enrollment_date", operator: "lt", attribute_value: "2022-01-01" },
      }],
      pagination: { page_size: 100 },
    });
    assert.deepEqual(
      ids(range),
      expect((e) => e.enrollment_date >= "2020-01-01" && e.enrollment_date < "2022-01-01"),
    );
    assert.deepEqual(
      ids(await search(deps, pred("benefit_type", "eq", "In-kind"))),
      expect((e) => (e.benefits ?? []).some((b: Json) => b.benefit_type === "In-kind")),
    );
    assert.deepEqual(
      ids(await search(deps, pred("benefit_date", "ge", "2024-01-01"))),
      expect((e) => (e.benefits ?? []).some((b: Json) => b.benefit_date >= "2024-01-01")),
    );
    const programmes = await search(
      deps,
      pred("programme", "eq", "PRG5-2", { reg_record_type: "Programme" }),
    );
    assert.deepEqual(ids(programmes), ["PRG5-2"]);
    assert.equal(programmes.data.reg_records[0].programme_name, "Old Age Pension");
    assert.equal(
      (await search(deps, pred("crop_type", "eq", "maize"))).status_reason_code,
      "rjct.filter.invalid",
    );
    // Code-list values are read as the code lists write them: label, code, prefixed code.
    assert.deepEqual(
      ids(await search(deps, pred("enrollment_status", "eq", "4"))),
      ids(await search(deps, pred("enrollment_status", "eq", "Suspended"))),
    );
    assert.deepEqual(
      ids(await search(deps, pred("benefit_type", "eq", "benefit:3"))),
      ids(await search(deps, pred("benefit_type", "eq", "in_kind"))),
    );
    assert.equal(
      (await search(deps, pred("enrollment_status", "eq", "Enrolled"))).status_reason_code,
      "rjct.filter.invalid",
    );
  } finally {
    deps.close();
  }
});

function actionInput(path: string, message: Json) {
  const action = ibrProfile.actions.find((a) => a.path === path)!;
  return {
    action,
    input: {
      registry: "ibr",
      senderId: "spmis.example.org",
      header: { message_id: "m-1" },
      message: action.request.parse(message) as Json,
      correlationId: "c-1",
      now: NOW,
    },
  };
}

Deno.test("IBR endpoints on the store: enrolled reads it; enrollment updates write it and raise the IBR events", async () => {
  const deps = await ibrDeps(0);
  try {
    const ask = actionInput("/sync/enrolled", {
      transaction_id: "t",
      enrolled_criteria: { query: { person_identifier: { eq: "ABC451123" }, programme: { eq: "DCI001" } } },
    });
    const yes = await ask.action.handle(deps, ask.input);
    assert.equal((yes.message as Json).enrolled_response[0].enrolled_status, "yes");
    const before = await deps.storage.registry.lastEventId();
    const update = actionInput("/sync/enrollment/updates", testEnrolmentUpdate("t2", "Graduated"));
    const written = await update.action.handle(deps, update.input);
    assert.deepEqual(
      (written.message as Json).enrolled_response.map((i: Json) => i.status),
      ["succ"],
      JSON.stringify(written),
    );
    const events = await deps.sql(
      "SELECT registry, event_type, registrant_id FROM registry_events WHERE id > ?",
      [before],
    );
    assert.deepEqual(events.map((e) => [e.registry, e.event_type]), [["ibr", "update"]]);
    const no = await ask.action.handle(deps, ask.input);
    assert.equal(
      (no.message as Json).enrolled_response[0].enrolled_status,
      "no",
      "graduated: no longer enrolled",
    );
    const record = await search(deps, {
      query_type: "idtype-value",
      query: { type: "UIN", value: "BENEFICIARY-TEST-001" },
    });
    assert.equal(record.data.reg_records[0].enrollment_status, "Graduated");
    assert.equal(
      record.data.reg_records[0].member.demographic_info.name.surname,
      "Test3",
      "core fields kept",
    );
  } finally {
    deps.close();
  }
});

Deno.test("IBR demo seeding: an empty data dir gets the IBR demo, programme DCI001 and beneficiary IBR-TEST-001 first", async () => {
  const deps = await testDeps({ seedDemo: "true", demoSize: "20" }, { now: NOW });
  try {
    await registryStartup(deps);
    const [n] = await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'ibr'");
    assert.equal(Number(n.n), 22, "the two fixed records and 20 synthetic ones");
    const test = await search(deps, {
      query_type: "idtype-value",
      query: { type: "UIN", value: "BENEFICIARY-TEST-001" },
    });
    assert.deepEqual(test.data.reg_records.map((r: Json) => r["@id"]), ["IBR-TEST-001"]);
    const programme = await search(deps, {
      query_type: "idtype-value",
      reg_record_type: "Programme",
      query: { type: "PROGRAMME_ID", value: "DCI001" },
    });
    assert.equal(programme.data.reg_records[0].programme_name, "Test Programme");
  } finally {
    deps.close();
  }
});

Deno.test("IBR demo places resolve in the served locations.json (the social demo's region and locality codes)", async () => {
  const deps = await testDeps({ seedDemo: "true", demoSize: "200" }, { now: NOW });
  try {
    await runStartupTasks(deps);
    const doc = await (await createApp(deps).request("/.well-known/locations.json")).json();
    const records = [...ibrProfile.demo(200, 1)].map((raw, i) => ({ ...raw, i }));
    const answers: Json[] = [];
    for (const r of records.filter((r: Json) => r.identifier).slice(0, 60) as Json[]) {
      answers.push(
        (await search(deps, {
          query_type: "idtype-value",
          query: { type: r.identifier[0].identifier_type, value: r.identifier[0].identifier_value },
        })).data.reg_records[0],
      );
    }
    assert.ok(answers.every((a) => a !== undefined));
    assert.deepEqual(unresolvedPlaces(answers, doc), []);
    assert.ok(JSON.stringify(answers).includes("region_code"), "the records carry places");
  } finally {
    deps.close();
  }
});
