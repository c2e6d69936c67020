/**
 * The generic registry machinery driven by a test-only profile (tests/registries/test_profile.ts): import,
 * search by core and registry attributes, identifiers per registry, events, subscriptions in the registry's
 * vocabulary, and a record with an unknown field refused naming it with nothing written.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { registerProfile, registryProfiles } from "../../src/registries/index.ts";
import { testProfile } from "./test_profile.ts";
import { csvRecords } from "../../src/registry/csv.ts";
import { ndjsonRecords } from "../../src/registry/sources.ts";
import type { SearchInput } from "../../src/registry/search_message.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { input, startReceiver, subItem } from "../subscriptions/helpers.ts";
import { registryStartup } from "../../src/registry/startup.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NOW = Date.parse("2026-03-01T10:00:00Z");

async function* chunks(text: string): AsyncGenerator<string> {
  yield text;
}

/** Fresh deps with the test registry registered; the registry is removed again by `done`. */
async function withTestRegistry(fn: (deps: TestDeps) => Promise<void>): Promise<void> {
  const unregister = registerProfile(testProfile);
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: NOW });
  try {
    await fn(deps);
  } finally {
    deps.close();
    unregister();
  }
}

const now = () => new Date(NOW).toISOString();

/** Social person U-SAME, then the test registry's records from CSV and NDJSON (with two bad rows). */
async function load(deps: TestDeps) {
  const social = await deps.storage.registryLoad.writeAll([{
    line: 1,
    raw: {
      id: "T1",
      identifier: [{ identifier_type: "UIN", identifier_value: "U-SAME" }],
      surname: "Social",
    },
  }], { now });
  assert.equal(social.registered, 1);
  const csv = "id,given_name,surname,birth_date,id.UIN,skills,certified\n" +
    "T1,Ann,Lee,1990-05-01,U-SAME,welding|Carpentry,false\n" +
    "T2,Ben,Okafor,1985-02-03,U-T2,masonry,true\n";
  const fromCsv = await deps.storage.registryLoad.writeAll(csvRecords(chunks(csv), testProfile), {
    now,
    profile: testProfile,
  });
  assert.deepEqual([fromCsv.registered, fromCsv.rejectedCount], [2, 0], JSON.stringify(fromCsv.rejected));
  const ndjson = [
    {
      id: "T3",
      name: { given_name: "Cy", surname: "Diallo" },
      birth_date: "2001-07-07",
      details: { skills: ["carpentry"] },
    },
    { id: "T4", surname: "Bad", details: { skills: ["x"], colour: "red" } },
    { id: "T5", surname: "Bad", favourite: "blue" },
    { id: "T6", identifier: [{ identifier_type: "UIN", identifier_value: "U-T2" }], surname: "Taken" },
  ].map((r) => JSON.stringify(r)).join("\n");
  const fromNdjson = await deps.storage.registryLoad.writeAll(ndjsonRecords(chunks(ndjson)), {
    now,
    profile: testProfile,
  });
  return { fromNdjson };
}

Deno.test("registry machinery: an import into a registered registry writes its rows, values and events; bad rows name the field", async () => {
  await withTestRegistry(async (deps) => {
    const { fromNdjson } = await load(deps);
    assert.equal(fromNdjson.registered, 1);
    assert.deepEqual(fromNdjson.rejected.map((r) => r.line), [2, 3, 4]);
    assert.match(fromNdjson.rejected[0].reason, /details\.colour: unknown field/);
    assert.match(fromNdjson.rejected[1].reason, /favourite: unknown field/);
    assert.match(fromNdjson.rejected[2].reason, /UIN "U-T2" belongs to another registrant/);
    const rows = (await deps.sql(
      "SELECT registry, record_type, external_id FROM registrants ORDER BY id",
    )).map((r) => Object.values(r));
    assert.deepEqual(rows, [
      ["social", "person", "T1"],
      ["tst", "tst_person", "T1"],
      ["tst", "tst_person", "T2"],
      ["tst", "tst_person", "T3"],
    ]);
    // The same UIN in social and in tst, each unique in its registry.
    const owners = (await deps.sql(
      "SELECT registry FROM identifiers WHERE id_value = 'U-SAME' ORDER BY registry",
    )).map((r) => r.registry);
    assert.deepEqual(owners, ["social", "tst"]);
    const t1 = (await deps.storage.registry.get("T1", "tst"))!;
    assert.deepEqual(t1.details, { skills: ["welding", "Carpentry"], certified: false });
    assert.equal(
      (await deps.storage.registry.get("T1"))!.name.surname,
      "Social",
      "social's T1 is another record",
    );
    const values = (await deps.sql(
      "SELECT v.attr, v.value, r.external_id FROM registrant_values v JOIN registrants r ON r.id = v.registrant_id ORDER BY 3, 2",
    )).map((r) => Object.values(r));
    assert.deepEqual(values, [
      ["skill", "carpentry", "T1"],
      ["skill", "welding", "T1"],
      ["skill", "masonry", "T2"],
      ["skill", "carpentry", "T3"],
    ]);
    const events = (await deps.sql(
      "SELECT registry, record_type, event_type FROM registry_events ORDER BY id",
    )).map((r) => Object.values(r).join(" "));
    assert.deepEqual(events, [
      "social person registration",
      "tst tst_person registration",
      "tst tst_person registration",
      "tst tst_person registration",
    ]);
    // The registry's search indexes were created on its first write, partial on its storage record type
    // (SQLite's per-registry indexes; PostgreSQL's schema has no per-registry ones).
    if (deps.backend === "sqlite") {
      const [idx] = await deps.sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'reg_r_tst_person_birth'",
      );
      assert.match(String(idx?.sql ?? ""), /WHERE record_type = 'tst_person' AND deleted_at IS NULL/);
    }
  });
});

async function search(deps: TestDeps, registry: string, criteria: Json[]) {
  const out = await deps.storage.search.message(deps, {
    registry: registry as SearchInput["registry"],
    header: { version: "1.0.0", action: "search", total_count: criteria.length },
    message: {
      transaction_id: "t",
      search_request: criteria.map((c, i) => ({
        reference_id: `r${i}`,
        timestamp: "2026-03-01T10:00:00Z",
        search_criteria: c,
      })),
    },
  });
  return out.message.search_response as Json[];
}

const ids = (item: Json) => item.data?.reg_records.map((r: Json) => r["@id"]);
const pred = (attribute_name: string, operator: string, attribute_value: unknown) => ({
  query_type: "predicate",
  query: [{ expression1: { attribute_name, operator, attribute_value } }],
});

Deno.test("registry machinery: search resolves the path's registry, its attributes and identifiers, and answers in its vocabulary", async () => {
  await withTestRegistry(async (deps) => {
    await load(deps);
    const [byUin, bySkill, byAlias, notSkill, contains, combined, byIn, wrongType, byType] = await search(
      deps,
      "tst",
      [
        { query_type: "idtype-value", query: { type: "UIN", value: "U-SAME" } },
        pred("skill", "eq", "carpentry"),
        pred("skills", "eq", "MASONRY"),
        pred("skill", "ne", "carpentry"),
        pred("skill", "contains", "eld"),
        {
          query_type: "predicate",
          query: [
            { expression1: { attribute_name: "skill", operator: "eq", attribute_value: "carpentry" } },
            { expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "2000-01-01" } },
          ],
        },
        { query_type: "expression", query: { expression: { skill: { $in: ["masonry", "welding"] } } } },
        { reg_type: "ns:org:RegistryType:Social", ...pred("skill", "eq", "x") },
        {
          reg_type: "test",
          reg_record_type: "ns:org:RecordType:TestPerson",
          ...pred("surname", "eq", "Lee"),
        },
      ],
    );
    assert.deepEqual(ids(byUin), ["T1"], "the tst record with the UIN, not social's");
    assert.equal(byUin.data.reg_type, "ns:org:RegistryType:Test");
    assert.equal(byUin.data.reg_record_type, "TestPerson");
    assert.equal(byUin.data.reg_records[0]["@type"], "TestPerson");
    assert.deepEqual(byUin.data.reg_records[0].skills, ["welding", "Carpentry"]);
    assert.deepEqual(ids(bySkill), ["T1", "T3"]);
    assert.deepEqual(ids(byAlias), ["T2"], "by its alias; the query value normalised as the stored ones");
    assert.deepEqual(ids(notSkill), ["T2"]);
    assert.deepEqual(ids(contains), ["T1"]);
    assert.deepEqual(ids(combined), ["T3"]);
    assert.deepEqual(ids(byIn), ["T1", "T2"]);
    assert.equal(wrongType.status, "rjct");
    assert.equal(wrongType.status_reason_code, "rjct.search_criteria.invalid");
    assert.match(wrongType.status_reason_message, /not served here \(tst\)/);
    assert.deepEqual(ids(byType), ["T1"]);
    // Social answers from its own records and does not know the test registry's attribute.
    const [socialUin, socialSkill] = await search(deps, "social", [
      { query_type: "idtype-value", query: { type: "UIN", value: "U-SAME" } },
      pred("skill", "eq", "carpentry"),
    ]);
    assert.deepEqual(ids(socialUin), ["T1"]);
    assert.equal(socialUin.data.reg_type, "ns:org:RegistryType:Social");
    assert.equal(socialUin.data.reg_records[0]["@type"], "SRPerson");
    assert.equal(socialSkill.status_reason_code, "rjct.filter.invalid");
    // A registry attribute is an index lookup of registrant_values, never a scan (SQLite's query plan).
    if (deps.backend === "sqlite") {
      const plan = (await deps.sql(
        "EXPLAIN QUERY PLAN SELECT v.registrant_id FROM registrant_values v WHERE v.attr = ? AND v.value = ?",
        ["skill", "carpentry"],
      )).map((r) => String(r.detail)).join("; ");
      assert.match(plan, /SEARCH v USING PRIMARY KEY \(attr=\? AND value=\?\)/);
    }
  });
});

Deno.test("registry machinery: admin API per registry; an unknown field is refused naming it and nothing is written", async () => {
  await withTestRegistry(async (deps) => {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Json };
    };
    const count = async (table: string) =>
      Number((await deps.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    const counts = () =>
      Promise.all(
        ["registrants", "registrant_data", "identifiers", "registrant_values", "registry_events"].map(count),
      );
    const created = await call("POST", "/registries/tst/registrants", {
      id: "A1",
      identifier: [{ identifier_type: "TST_ID", identifier_value: "X-1" }],
      name: { given_name: "Ada", surname: "Lovelace" },
      details: { skills: ["Analysis"] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.record_type, "tst_person");
    assert.equal(created.body.record["@type"], "TestPerson");
    assert.deepEqual(created.body.details, { skills: ["Analysis"] });
    const before = await counts();
    for (
      const [body, field] of [
        [{ id: "A2", surname: "X", details: { skills: [], colour: "red" } }, "details.colour: unknown field"],
        [{ id: "A2", surname: "X", nickname: "x" }, "nickname: unknown field"],
        [{ id: "A2", surname: "X", details: "skills" }, "details: expected an object"],
      ] as const
    ) {
      const bad = await call("POST", "/registries/tst/registrants", body);
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.ok(JSON.stringify(bad.body).includes(field), `${field}: ${JSON.stringify(bad.body)}`);
    }
    const patched = await call("PATCH", "/registries/tst/registrants/A1", { details: { mood: "good" } });
    assert.equal(patched.status, 400);
    assert.ok(JSON.stringify(patched.body).includes("details.mood: unknown field"));
    assert.deepEqual(
      await counts(),
      before,
      "nothing half-written",
    );
    // The social paths are social's: the same id there is another registrant.
    assert.equal((await call("GET", "/registrants/A1")).status, 404);
    assert.equal((await call("POST", "/registrants", { id: "A1", surname: "Social" })).status, 201);
    assert.equal((await call("GET", "/registries/social/registrants/A1")).body.record["@type"], "SRPerson");
    assert.equal((await call("GET", "/registries/nope/registrants")).status, 404);
    const patch = await call("PATCH", "/registries/tst/registrants/A1", {
      details: { skills: ["Analysis"], certified: true },
    });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    assert.equal(patch.body.record.certified, true);
    const list = await call("GET", "/registries/tst/registrants?counts=true");
    assert.deepEqual(list.body.items.map((i: Json) => i.id), ["A1"]);
    assert.deepEqual(list.body.counts, { tst_person: 1, deleted: 0 });
    assert.equal(
      (await call("GET", "/registries/tst/registrants")).body.counts,
      undefined,
      "counts are opt-in",
    );
    assert.equal((await call("DELETE", "/registries/tst/registrants/A1")).status, 200);
    const events = await call("GET", "/registries/tst/events");
    assert.deepEqual(
      events.body.events.map((e: Json) => [e.registry, e.eventType, e.recordType]),
      [["tst", "registration", "tst_person"], ["tst", "update", "tst_person"], [
        "tst",
        "delete",
        "tst_person",
      ]],
    );
    assert.equal(events.body.events[1].record["@type"], "TestPerson");
  });
});

Deno.test("registry machinery: a subscription to a registry's own event type is notified in that registry's vocabulary", async () => {
  await withTestRegistry(async (deps) => {
    // The test registry has no spec yaml; social's notification (same receiver) is checked against social's.
    const rx = startReceiver({ registry: null });
    try {
      await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
      const subscribe = async (registry: string, criteria: Json) => {
        const r = await subscribeProcessor(deps, {
          ...input("s1", { transaction_id: "t", subscribe_request: [subItem("r", criteria)] }, rx.url),
          registry: registry as "social",
        });
        return (r.message.subscribe_response as Json[])[0];
      };
      const certified = await subscribe("tst", {
        reg_event_type: "spdci:RegistryEventType:CERTIFIED",
        notify_record_type: "TestPerson",
      });
      assert.equal(certified.status, "succ", JSON.stringify(certified));
      const registered = await subscribe("tst", { reg_event_type: "REGISTER", notify_record_type: "person" });
      assert.equal(registered.status, "succ", JSON.stringify(registered));
      const socialUpdates = await subscribe("social", {
        reg_event_type: "update",
        notify_record_type: "person",
      });
      assert.equal(socialUpdates.status, "succ");
      const unknown = await subscribe("tst", { reg_event_type: "LiveBirth", notify_record_type: "person" });
      assert.equal(unknown.status, "rjct");
      assert.equal(unknown.status_reason_code, "rjct.notify_types.invalid");
      assert.match(unknown.status_reason_message, /registration, update, delete, Certified/);
      const put = (details: Json) =>
        deps.storage.registryLoad.writeAll([{ line: 1, raw: { id: "C1", surname: "Curie", details } }], {
          now,
          profile: testProfile,
        });
      await put({ certified: false }); // registration
      await put({ certified: true }); // update: becomes certified
      await put({ certified: true, skills: ["physics"] }); // update: was certified already
      await runNotifierOnce(deps, { random: () => 0.5 });
      const data = (code: string) =>
        rx.received.map((r) => (r.body.message as Json).notify_event[0]).filter((e: Json) =>
          e.subscription_code === code
        ).map((e: Json) => e.data);
      const certs = data(certified.subscriptions[0].code);
      assert.equal(certs.length, 1, JSON.stringify(rx.received.map((r) => r.body.message)));
      assert.equal(certs[0].reg_type, "ns:org:RegistryType:Test");
      assert.equal(certs[0].reg_event_type, "Certified");
      assert.equal(certs[0].reg_record_type, "TestPerson");
      assert.equal(certs[0].reg_records["@id"], "C1");
      assert.equal(certs[0].reg_records.certified, true);
      const regs = data(registered.subscriptions[0].code);
      assert.deepEqual(regs.map((d: Json) => [d.reg_event_type, d.reg_records.certified]), [[
        "REGISTER",
        false,
      ]]);
      assert.equal(data(socialUpdates.subscriptions[0].code).length, 0, "social hears nothing of tst");
    } finally {
      await rx.close();
    }
  });
});

Deno.test("registry machinery: an empty data dir is seeded with every registry's demo, partners' test records first", async () => {
  const unregister = registerProfile(testProfile);
  const deps = await testDeps({ seedDemo: "true", demoSize: "5" }, { now: NOW });
  try {
    await registryStartup(deps);
    const counts = (await deps.sql("SELECT registry, COUNT(*) AS n FROM registrants GROUP BY 1 ORDER BY 1"))
      .map((r) => [r.registry, Number(r.n)]);
    // Every registered registry is seeded (the built-in ones and the test one).
    assert.deepEqual(counts.map(([r]) => r), [...registryProfiles().map((p) => p.name)].sort());
    assert.equal(Object.fromEntries(counts).tst, 6, "TST-TEST-001 and 5 synthetic records");
    const [fixed] = await search(deps, "tst", [{
      query_type: "idtype-value",
      query: { type: "TST_ID", value: "TST-TEST-001" },
    }]);
    assert.deepEqual(ids(fixed), ["TST-TEST-001"]);
    const [social] = await search(deps, "social", [{
      query_type: "idtype-value",
      query: { type: "UIN", value: "TEST-001" },
    }]);
    assert.equal(social.data.reg_records.length, 1);
    // Not again on the next start: the data dir is no longer empty.
    await registryStartup(deps);
    assert.equal(
      Number((await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'tst'"))[0].n),
      6,
    );
  } finally {
    deps.close();
    unregister();
  }
});
