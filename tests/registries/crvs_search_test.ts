/**
 * The civil registry end to end: its demo imported, signed sync searches answering the partners' test records by
 * identifier and by the registry's own attributes (answers checked against the crvs yaml by the test app, records
 * against CRVS_Person), the admin API refusing an unknown field with nothing written, and on a real server seeded
 * with every registry's demo an async search answered by a signed on-search callback checked against the yaml.
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createServerSender, createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { startReceiver } from "../subscriptions/helpers.ts";
import { send, startServer } from "../subscriptions/e2e_support.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { crvsValidator } from "./crvs_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SYNC = "/dci_api/v1/crvs/registry/sync/search";

function byId(type: string, value: string): Json {
  return { query_type: "idtype-value", query: { type, value } };
}

function where(...terms: Array<[string, string, unknown]>): Json {
  return {
    query_type: "predicate",
    query: terms.map(([attribute_name, operator, attribute_value], i) => ({
      seq_num: i + 1,
      expression1: { attribute_name, operator, attribute_value },
      ...(i < terms.length - 1 ? { condition: "and" } : {}),
    })),
  };
}

function message(criteria: Json[]): Json {
  return {
    transaction_id: "crvs-t",
    search_request: criteria.map((c, i) => ({
      reference_id: `r${i}`,
      timestamp: "2026-03-01T10:00:00Z",
      search_criteria: { reg_type: "ns:org:RegistryType:Civil", ...c },
    })),
  };
}

/** Fresh deps holding the crvs demo (the test records and 200 more). */
async function crvsDeps(): Promise<TestDeps> {
  const deps = await testDeps();
  const report = await deps.storage.registryLoad.writeAll(demoSource(crvsProfile, 200, 1), {
    now: () => new Date(deps.clock.now()).toISOString(),
    profile: crvsProfile,
  });
  assert.equal(report.rejectedCount, 0, JSON.stringify(report.rejected));
  return deps;
}

/** A signed search request to the in-process app; the answer (checked against the yaml by the test app). */
async function signedSearch(
  deps: TestDeps,
  app: ReturnType<typeof createApp>,
  sender: Awaited<ReturnType<typeof createTestSender>>,
  path: string,
  criteria: Json[],
): Promise<{ status: number; body: Json }> {
  const env = sender.sign(
    requestEnvelope(sender.senderId, message(criteria), {
      totalCount: criteria.length,
      nowMs: deps.clock.now(),
    }),
  );
  const res = await app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify(env),
  });
  return { status: res.status, body: await res.json() };
}

const ids = (item: Json) => item.data?.reg_records?.map((r: Json) => r["@id"]);

Deno.test("crvs sync search: signed answers find the test birth, death and parents by identifier and by vital-event attributes", async () => {
  const deps = await crvsDeps();
  try {
    const app = createApp(deps);
    const sender = await createTestSender(deps);
    const criteria = [
      byId("BRN", "BIRTH-TEST-001"),
      byId("DRN", "DEATH-TEST-001"),
      byId("UIN", "PARENT-TEST-002"),
      where(["parent_identifier", "eq", "PARENT-TEST-001"]),
      where(["vital_event_type", "eq", "spdci-common:RegistryEventType:Death"], [
        "death_date",
        "ge",
        "2025-11-01",
      ], [
        "death_date",
        "le",
        "2025-11-30",
      ]),
      where(["vital_event_date", "ge", "2025-03-14"], ["vital_event_date", "le", "2025-03-14"], [
        "birth_place",
        "eq",
        "Riverside",
      ]),
      { ...byId("BRN", "BIRTH-TEST-001"), reg_record_type: "CRVS_Person" },
      where(["marital_status", "eq", "Widowed"], ["death_place", "eq", "northern_region"], [
        "surname",
        "eq",
        "Banda",
      ]),
    ];
    const { status, body } = await signedSearch(deps, app, sender, SYNC, criteria);
    assert.equal(status, 200, JSON.stringify(body));
    const jwks = await (await app.request("/.well-known/jwks.json")).json();
    assert.ok(verifyWithJwks(body, jwks, deps.clock.now()), "the answer is signed by the registry");
    const items = body.message.search_response;
    assert.deepEqual(items.map((i: Json) => i.status), criteria.map(() => "succ"));
    assert.deepEqual(items.map(ids), [
      ["CRVS-TEST-BIRTH"],
      ["CRVS-TEST-DEATH"],
      ["CRVS-TEST-PARENT-2"],
      ["CRVS-TEST-BIRTH"],
      ["CRVS-TEST-DEATH"],
      ["CRVS-TEST-BIRTH"],
      ["CRVS-TEST-BIRTH"],
      ["CRVS-TEST-DEATH"],
    ]);
    for (const item of items) {
      assert.equal(item.data.reg_type, "ns:org:RegistryType:Civil");
      assert.equal(item.data.reg_record_type, "CRVS_Person");
      for (const r of item.data.reg_records) assert.deepEqual(crvsValidator.validate(r, "CRVS_Person"), []);
    }
    const birth = items[0].data.reg_records[0];
    assert.equal(birth.parent1_identifier.identifier_value, "PARENT-TEST-001");
    assert.equal(birth.birth_place.name, "Riverside District Hospital");
  } finally {
    deps.close();
  }
});

Deno.test("crvs sync search: records stay in their registry; unknown attributes and record types are refused per item", async () => {
  const deps = await crvsDeps();
  try {
    const app = createApp(deps);
    const sender = await createTestSender(deps);
    const post = async (path: string, criteria: Json[]) =>
      (await signedSearch(deps, app, sender, path, criteria)).body.message.search_response as Json[];
    const social = await post("/dci_api/v1/social/registry/sync/search", [
      { query_type: "idtype-value", query: { type: "BRN", value: "BIRTH-TEST-001" } },
    ]);
    assert.ok(!ids(social[0])?.length, "the social registry does not hold crvs records");
    const bad = await post(SYNC, [
      where(["crop_type", "eq", "maize"]),
      { ...byId("BRN", "BIRTH-TEST-001"), reg_record_type: "Farmer" },
      where(["vital_event_type", "eq", "baptism"]),
      // A household's attribute: crvs persons have no household, so it would match nothing, `ne` included.
      where(["poverty_score", "ne", 5]),
    ]);
    assert.deepEqual(bad.map((i) => [i.status, i.status_reason_code]), [
      ["rjct", "rjct.filter.invalid"],
      ["rjct", "rjct.search_criteria.invalid"],
      ["rjct", "rjct.filter.invalid"],
      ["rjct", "rjct.filter.invalid"],
    ]);
    assert.match(bad[0].status_reason_message, /crop_type/);
    assert.match(bad[3].status_reason_message, /poverty_score.*a household's: this registry has none/);
  } finally {
    deps.close();
  }
});

Deno.test("crvs name search: each name part, the second name too, is read through its own index", async () => {
  const deps = await crvsDeps();
  try {
    if (TEST_BACKEND !== "sqlite") return; // the plan's text is SQLite's (PostgreSQL: tests/registry/pg_search_plans_test.ts)
    for (
      const [column, index] of [["given_name", "given_ci"], ["second_name", "second_ci"], [
        "surname",
        "surname_ci",
      ]]
    ) {
      const plan = await deps.sql(
        `EXPLAIN QUERY PLAN SELECT n.id FROM registrants n WHERE n.${column} COLLATE NOCASE IN (?)
         AND n.record_type = 'crvs_person' AND n.deleted_at IS NULL`,
        ["Ana"],
      );
      assert.match(
        plan.map((r) => r.detail).join("\n"),
        new RegExp(`USING INDEX reg_r_crvs_person_${index}`),
        column,
      );
    }
  } finally {
    deps.close();
  }
});

Deno.test("crvs admin API: a record with an unknown field is refused naming it, and nothing is written", async () => {
  const deps = await crvsDeps();
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const put = async (id: string, body: Json) => {
      const res = await app.request(`/admin/v1/registries/crvs/registrants/${id}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Json };
    };
    const count = async () =>
      Number((await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'crvs'"))[0].n);
    const before = await count();
    const refused = await put("X-1", {
      identifier: [{ identifier_type: "DRN", identifier_value: "DRN-X-1" }],
      death_date: "2026-01-01",
      details: { death_place: "Riverside", cause_of_death: "secret" },
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /details\.cause_of_death: unknown field/);
    assert.equal(await count(), before, "nothing written");
    const ok = await put("X-1", {
      identifier: [{ identifier_type: "DRN", identifier_value: "DRN-X-1" }],
      death_date: "2026-01-01",
      details: { death_place: "Riverside" },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(await count(), before + 1);
  } finally {
    deps.close();
  }
});

Deno.test("crvs async search on a server seeded with every registry's demo: a signed on-search callback with the test records", async () => {
  const rx = startReceiver({ registry: "crvs" });
  const server = await startServer({ DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "20" });
  try {
    const sender = await createServerSender(server);
    const msg = message([byId("BRN", "BIRTH-TEST-001"), byId("DRN", "DEATH-TEST-001")]);
    const ack = await send(server, sender, "/dci_api/v1/crvs/registry/search", msg, rx.url);
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    await rx.until((all) => all.some((r) => r.path.endsWith("/on-search")));
    const cb = rx.received.find((r) => r.path.endsWith("/on-search"))!;
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    assert.ok(verifyWithJwks(cb.body, jwks, Date.now()), "the callback is signed by the registry");
    const items = (cb.body.message as Json).search_response;
    assert.deepEqual(items.map(ids), [["CRVS-TEST-BIRTH"], ["CRVS-TEST-DEATH"]]);
    for (const item of items) {
      for (const r of item.data.reg_records) assert.deepEqual(crvsValidator.validate(r, "CRVS_Person"), []);
    }
  } finally {
    await server.stop();
    await rx.close();
  }
});
