/**
 * The registry store (records and events), the same contract on both backends: reads by id, the saves'
 * InputErrors, identifiers, contacts and values written and replaced, lazy snapshots, events, counts, patch.
 * Listing and search: registry_store_reads_test.ts; races of several instances: registry_store_race_test.ts.
 */
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { backendTest, type RawSql } from "../helpers/storage.ts";
import type { Storage } from "../../src/db/storage.ts";
import { InputError, readRegistrant } from "../../src/registry/model.ts";
import { household, person, reg, uin } from "./registry_fixture.ts";
import { profileOf } from "../../src/registries/index.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const LATER = "2026-01-02T00:00:00.000Z";

const refused = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message);

backendTest("registry store: save, get, getById, members, counts, isEmpty, lastEventId", async (s) => {
  const r = s.registry;
  equal(await r.isEmpty(), true);
  equal(await r.lastEventId(), 0);
  const g = await r.save(household("G1"), { mode: "create", now: NOW });
  deepEqual(g.eventType, "registration");
  const p = await r.save(person("P1", { group_id: "G1", relationship: "head", ...uin("U-1") }), {
    mode: "create",
    now: NOW,
  });
  await r.save(person("P2", { group_id: "G1" }), { mode: "create", now: NOW });
  equal(await r.isEmpty(), false);
  equal(await r.isEmpty("social"), false);
  equal(await r.isEmpty("crvs"), true);
  const got = (await r.get("P1"))!;
  equal(got.id, p.id);
  equal(got.name.surname, "Lee");
  equal(got.groupRef, "G1");
  deepEqual(got.identifiers, [{ type: "UIN", value: "U-1" }]);
  equal(got.deletedAt, undefined);
  deepEqual(await r.getById(p.id), got);
  equal(await r.get("P1", "crvs"), undefined);
  equal(await r.getById(999_999), undefined);
  deepEqual((await r.members(g.id)).members.map((m) => m.externalId), ["P1", "P2"]);
  equal((await r.members(g.id)).total, undefined, "a whole list has no total");
  deepEqual(await r.counts("social"), { person: 2, group: 1, deleted: 0 });
  await r.delete("P2", { now: LATER });
  deepEqual(await r.counts("social"), { person: 1, group: 1, deleted: 1 });
  deepEqual(
    (await r.members(g.id)).members.map((m) => m.externalId),
    ["P1"],
    "a deleted member is no member",
  );
  const crvs = await r.counts("crvs");
  ok(Object.values(crvs).every((n) => n === 0) && "deleted" in crvs && Object.keys(crvs).length > 1);
  equal(await r.lastEventId(), (await r.eventsAfter(0)).at(-1)!.id);
  equal((await r.eventsAfter(0)).length, 4);
});

backendTest(
  "registry store: a save refuses what saveRegistrant refuses, and writes nothing then",
  async (s) => {
    const r = s.registry;
    await r.save(household("G1"), { mode: "create", now: NOW });
    await r.save(person("P1", uin("U-1")), { mode: "create", now: NOW });
    const before = await r.lastEventId();
    await rejects(
      r.save(person("P1"), { mode: "create", now: NOW }),
      refused(/id: a registrant "P1" already exists/),
    );
    await rejects(
      r.save(reg({ id: "P1", record_type: "group", group_type: "household" }), { mode: "upsert", now: NOW }),
      refused(/record_type: P1 is a person/),
    );
    await rejects(
      r.save(person("P2", uin("U-1")), { mode: "create", now: NOW }),
      refused(/identifier UIN "U-1" belongs to another registrant/),
    );
    const two = { identifier: ["U-9", "U-1"].map((v) => ({ identifier_type: "UIN", identifier_value: v })) };
    await rejects(r.save(person("P2", two), { mode: "upsert", now: NOW }), refused(/^identifier UIN "U-1"/));
    await rejects(
      r.save(person("P3", { group_id: "G9" }), { mode: "create", now: NOW }),
      refused(/group_id: no household "G9"/),
    );
    await rejects(
      r.save(person("P4", { group_id: "P1" }), { mode: "create", now: NOW }),
      refused(/group_id: "P1" is not a group/),
    );
    equal(await r.lastEventId(), before, "no event of a refused save");
    equal(await r.get("P2"), undefined);
    equal(await r.get("P3"), undefined, "nothing written");
  },
);

backendTest(
  "registry store: an upsert replaces identifiers and contacts; a delete frees them",
  async (s, sql) => {
    const r = s.registry;
    const first = await r.save(
      person("P1", { ...uin("U-1"), phone_number: ["+1 (555) 010"], email: [" Ann@Example.org"] }),
      { mode: "create", now: NOW },
    );
    equal(first.eventType, "registration");
    const again = await r.save(
      person("P1", { ...uin("U-2"), phone_number: ["+1 555 011"], email: ["ann@example.org"] }),
      { mode: "upsert", now: LATER },
    );
    deepEqual(again, { id: first.id, eventType: "update" });
    deepEqual(await ids(sql), [["U-2", "UIN", 1]], "the old identifier is gone");
    deepEqual(await contacts(sql), [["email", "ann@example.org"], ["phone", "+1555011"]]);
    equal(
      (await r.get("P1"))!.registrationDate,
      person("P1").registrationDate,
      "the registration date stays",
    );
    // U-1 is free again; U-2 is not.
    await r.save(person("P2", uin("U-1")), { mode: "create", now: LATER });
    await r.delete("P1", { now: LATER });
    deepEqual(
      (await ids(sql)).filter((i) => i[0] === "U-2"),
      [["U-2", "UIN", 0]],
      "a deleted record's is dead",
    );
    equal((await r.get("P1"))!.deletedAt, LATER);
    equal(await r.delete("P1", { now: LATER }), undefined, "deleting twice finds nothing");
    await r.save(person("P3", uin("U-2")), { mode: "create", now: LATER });
    // A deleted id is registered again.
    equal((await r.save(person("P1"), { mode: "create", now: LATER })).eventType, "registration");
  },
);

backendTest(
  "registry store: an upsert moves a member between households and out; a record registered again takes back its identifier",
  async (s, sql) => {
    const r = s.registry;
    const g1 = await r.save(household("G1"), { mode: "create", now: NOW });
    const g2 = await r.save(household("G2"), { mode: "create", now: NOW });
    const p = await r.save(person("P1", { group_id: "G1", ...uin("U-1") }), { mode: "create", now: NOW });
    const groupOf = async () =>
      (await sql("SELECT group_id FROM registrants WHERE id = ?", [p.id]))[0].group_id;
    const members = async (g: { id: number }) => (await r.members(g.id)).members.map((m) => m.externalId);
    // The same household again, then another, then none: the column and the member lists follow each save.
    await r.save(person("P1", { group_id: "G1", ...uin("U-1"), sex: "female" }), {
      mode: "upsert",
      now: LATER,
    });
    equal(Number(await groupOf()), g1.id);
    await r.save(person("P1", { group_id: "G2", ...uin("U-1") }), { mode: "upsert", now: LATER });
    equal(Number(await groupOf()), g2.id);
    deepEqual([await members(g1), await members(g2)], [[], ["P1"]]);
    equal((await r.get("P1"))!.groupRef, "G2");
    await r.save(person("P1", uin("U-1")), { mode: "upsert", now: LATER });
    equal(await groupOf(), null);
    deepEqual(await members(g2), []);
    await rejects(
      r.save(person("P1", { group_id: "G9", ...uin("U-1") }), { mode: "upsert", now: LATER }),
      refused(/group_id: no household "G9"/),
    );
    equal(await groupOf(), null, "a refused move changes nothing");
    // Deleted, its identifier row stays dead under the same key; registering the record again revives that row.
    await r.delete("P1", { now: LATER });
    const u1 = async () => (await ids(sql)).filter((i) => i[0] === "U-1");
    deepEqual(await u1(), [["U-1", "UIN", 0]]);
    const back = await r.save(person("P1", { group_id: "G1", ...uin("U-1") }), {
      mode: "upsert",
      now: LATER,
    });
    deepEqual(back, { id: p.id, eventType: "registration" });
    deepEqual(await u1(), [["U-1", "UIN", 1]], "one row, live again");
    equal(Number(await groupOf()), g1.id);
    await rejects(
      r.save(person("P2", uin("U-1")), { mode: "create", now: LATER }),
      refused(/identifier UIN "U-1" belongs to another registrant/),
    );
  },
);

backendTest(
  "registry store: registry values are written and replaced, strings as strings and numbers as numbers",
  async (s, sql) => {
    const fr = profileOf("fr")!;
    const demo = [...fr.demo(2, 1)];
    for (const x of demo) {
      await s.registry.save(readRegistrant(x, NOW, undefined, fr), { mode: "upsert", now: NOW });
    }
    const raw = demo.find((x) => (x as { record_type?: string }).record_type === "Farmer")!;
    const { id } = (await s.registry.get(String(raw.id), "fr"))!;
    const values = await valueRows(sql, id);
    ok(values.some(([a, v]) => a === "land_size" && v === 2.5), JSON.stringify(values));
    ok(values.some(([a, v]) => a === "farm_type" && v === "2"), JSON.stringify(values));
    const land = values.find(([a]) => a === "land_size")!;
    const changed = readRegistrant(
      {
        ...raw,
        details: {
          ...(raw as { details: Record<string, unknown> }).details,
          farm_type: "6",
          farm_details: [],
        },
      },
      LATER,
      undefined,
      fr,
    );
    await s.registry.save(changed, { mode: "upsert", now: LATER });
    const after = await valueRows(sql, id);
    ok(
      !after.some(([a]) => a === "land_size"),
      `the old land_size ${land} is gone: ${JSON.stringify(after)}`,
    );
    deepEqual(after.filter(([a]) => a === "farm_type"), [["farm_type", "6"]]);
    const indexes = await indexNames(s, sql);
    ok(indexes.some((n) => n.startsWith("reg_r_fr_") && n.endsWith("_ci")), `fr's indexes: ${indexes}`);
  },
);

backendTest(
  "registry store: a lazy snapshot ('') is materialised before the data changes",
  async (s, sql) => {
    const r = s.registry;
    const { id } = await r.save(person("P1", { sex: "female" }), { mode: "create", now: NOW });
    await sql("UPDATE registry_events SET snapshot = '' WHERE registrant_id = ?", [id]);
    equal((await r.eventsAfter(0))[0].registrant.sex, "female", "'' reads the data as stored");
    await r.save(person("P1", { sex: "male" }), { mode: "upsert", now: LATER });
    const events = await r.eventsAfter(0);
    deepEqual(events.map((e) => [e.eventType, e.registrant.sex]), [["registration", "female"], [
      "update",
      "male",
    ]]);
    equal((await sql("SELECT COUNT(*) AS n FROM registry_events WHERE snapshot = ''"))[0].n, 0);
  },
);

backendTest("registry store: events in order, by registry, after and before a cursor", async (s) => {
  const r = s.registry;
  await r.save(person("P1"), { mode: "create", now: NOW });
  const crvs = [...profileOf("crvs")!.demo(2, 1)].map((x) =>
    readRegistrant(x, NOW, undefined, profileOf("crvs")!)
  );
  for (const c of crvs) await r.save(c, { mode: "upsert", now: NOW });
  await r.save(person("P1", { sex: "male" }), { mode: "upsert", now: LATER });
  await r.delete("P1", { now: LATER });
  const all = await r.eventsAfter(0);
  deepEqual(all.map((e) => e.id), [...all.map((e) => e.id)].sort((a, b) => a - b));
  deepEqual(all.filter((e) => e.registry === "social").map((e) => e.eventType), [
    "registration",
    "update",
    "delete",
  ]);
  const social = await r.eventsAfter(0, { registry: "social" });
  deepEqual(social.map((e) => e.id), all.filter((e) => e.registry === "social").map((e) => e.id));
  equal(social[0].record.id !== undefined || Object.keys(social[0].record).length > 0, true);
  deepEqual((await r.eventsAfter(all[1].id, { limit: 2 })).map((e) => e.id), [all[2].id, all[3].id]);
  const recent = await r.recentEvents("social", { limit: 2 });
  deepEqual(recent.map((e) => e.eventType), ["delete", "update"]);
  deepEqual((await r.recentEvents("social", { beforeId: recent[1].id })).map((e) => e.eventType), [
    "registration",
  ]);
  equal(social[2].registrant.externalId, "P1", "a delete event carries the record as it was");
  equal(social[2].createdAt, LATER);
});

backendTest("registry store: patch merges over the live record in one transaction", async (s) => {
  const r = s.registry;
  await r.save(person("P1", { sex: "female" }), { mode: "create", now: NOW });
  const merged = await r.patch("social", "P1", (cur) => ({ ...cur, sex: "male", lastUpdated: LATER }), LATER);
  equal(merged!.sex, "male");
  equal((await r.get("P1"))!.sex, "male");
  equal(await r.patch("social", "P9", (cur) => cur, LATER), undefined);
  await r.delete("P1", { now: LATER });
  equal(await r.patch("social", "P1", (cur) => cur, LATER), undefined, "a deleted record is not patched");
  await r.save(person("P2"), { mode: "create", now: NOW });
  await rejects(r.patch("social", "P2", () => person("P2", { group_id: "G9" }), LATER), refused(/group_id/));
  equal((await r.get("P2"))!.groupRef, undefined);
});

async function ids(sql: RawSql) {
  return (await sql("SELECT id_value, id_type, live FROM identifiers ORDER BY id_value, live")).map((x) => [
    x.id_value,
    x.id_type,
    Number(x.live),
  ]);
}

async function contacts(sql: RawSql) {
  return (await sql("SELECT kind, value FROM registrant_contacts ORDER BY kind, value")).map((
    x,
  ) => [x.kind, x.value]);
}

async function valueRows(sql: RawSql, id: number) {
  return (await sql("SELECT attr, value FROM registrant_values WHERE registrant_id = ? ORDER BY attr", [id]))
    .map((x) => [x.attr, x.value] as [string, unknown]);
}

async function indexNames(s: Storage, sql: RawSql): Promise<string[]> {
  const rows = s.kind === "sqlite"
    ? await sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    : await sql("SELECT indexname AS name FROM pg_indexes");
  return rows.map((x) => String(x.name));
}

Deno.test("registry store: a record holding U+0000 is refused when read (PostgreSQL text cannot hold it)", () => {
  for (
    const extra of [{ name: { surname: "A\u0000B" } }, { attributes: { note: ["x\u0000"] } }, {
      "k\u0000": 1,
    }]
  ) {
    throws(() => person("P1", extra), refused(/NUL character/), JSON.stringify(extra));
  }
});
