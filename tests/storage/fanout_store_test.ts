/** The fan-out store: the same notifications, rows, order and due times on both backends. */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import type { NewSubscription } from "../../src/subscriptions/store.ts";
import { event, logged, NOW, options, person, registrant, subscribe, T0 } from "../helpers/fanout_fixture.ts";

const DEATH = "spdci-common:RegistryEventType:Death";

backendTest(
  "fan-out store: one row per matching (subscription, event) in event order; the cursor follows",
  async (
    s,
    sql,
  ) => {
    const regs = await subscribe(s);
    const updates = await subscribe(s, { reg_event_type: "update" });
    const a = await registrant(sql, "a");
    const e1 = await event(sql, a, "registration", person("a"));
    const e2 = await event(sql, a, "update", person("a", { sex: "male" }));
    // A subscription made now sees only events after it.
    const late = await subscribe(s, { reg_event_type: "update" });
    const e3 = await event(sql, a, "update", person("a"));
    const e4 = await event(sql, a, "delete", person("a"));
    await event(sql, a, "registration", { ...person("b"), recordType: "group" });
    await event(sql, a, "registration", person("c"), T0, "fr");
    const e7 = await event(sql, a, "registration", person("d"));
    deepEqual(await s.fanOut.batch(options({ batch: 3 })), { events: 3, logged: 4 });
    equal(await s.fanOut.cursor(), e3);
    deepEqual(await s.fanOut.batch(options({ batch: 3 })), { events: 3, logged: 0 });
    deepEqual(await s.fanOut.batch(options({ batch: 3 })), { events: 1, logged: 1 });
    deepEqual(await s.fanOut.batch(options()), { events: 0, logged: 0 });
    equal(await s.fanOut.cursor(), e7);
    deepEqual(await logged(sql), [
      [regs, e1, "registration", NOW],
      [updates, e2, "update", NOW],
      [updates, e3, "update", NOW],
      [late, e3, "update", NOW],
      [regs, e7, "registration", NOW],
    ]);
    equal(e4, e3 + 1);
  },
);

backendTest("fan-out store: with no subscription the cursor jumps to the newest event", async (s, sql) => {
  const a = await registrant(sql, "a");
  for (let i = 0; i < 5; i++) await event(sql, a, "update", person("a"));
  deepEqual(await s.fanOut.batch(options({ batch: 2 })), { events: 5, logged: 0 });
  equal(await s.fanOut.cursor(), 5);
  // Lazy snapshots (the registrant's current data) are read the same way.
  await sql("INSERT INTO registrant_data (id, data) VALUES (?, ?)", [a, JSON.stringify(person("a"))]);
  await sql(
    `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
     VALUES ('social', 'update', 'person', ?, '', ?)`,
    [a, T0],
  );
  const sub = await subscribe(s, { reg_event_type: "update" });
  await sql("UPDATE subscriptions SET from_event_id = 5 WHERE id = ?", [sub]);
  deepEqual(await s.fanOut.batch(options()), { events: 1, logged: 1 });
  deepEqual(await logged(sql), [[sub, 6, "update", NOW]]);
});

backendTest(
  "fan-out store: a cron frequency holds each row until the cron's next run after its event",
  async (
    s,
    sql,
  ) => {
    const daily = await subscribe(s, { frequency: JSON.stringify({ frequency: "0 6 * * *" }) });
    const ending = await subscribe(s, {
      frequency: JSON.stringify({ frequency: "0 0 1 * *" }),
      end_time: "2026-06-20T00:00:00.000Z",
    });
    const a = await registrant(sql, "a");
    const e1 = await event(sql, a, "registration", person("a"), "2026-06-01T05:00:00.000Z");
    const e2 = await event(sql, a, "registration", person("b"), "2026-06-01T07:00:00.000Z");
    await s.fanOut.batch(options());
    deepEqual(await logged(sql), [
      [daily, e1, "registration", "2026-06-01T06:00:00.000Z"],
      [ending, e1, "registration", "2026-06-20T00:00:00.000Z"],
      [daily, e2, "registration", "2026-06-02T06:00:00.000Z"],
      [ending, e2, "registration", "2026-06-20T00:00:00.000Z"],
    ]);
  },
);

backendTest("fan-out store: a registry event type (crvs Death) is decided with the previous snapshot", async (
  s,
  sql,
) => {
  const deaths = await subscribe(s, { registry: "crvs", reg_event_type: DEATH, record_type: "crvs_person" });
  const crvs = (id: string, over: Record<string, unknown> = {}) => ({
    ...person(id),
    recordType: "crvs_person",
    ...over,
  });
  const a = await registrant(sql, "a", "crvs", "crvs_person");
  const b = await registrant(sql, "b", "crvs", "crvs_person");
  await event(sql, a, "registration", crvs("a"), T0, "crvs");
  const died = await event(sql, a, "update", crvs("a", { deathDate: "2026-05-30" }), T0, "crvs");
  // A correction after the death is no new death; a death registered as such is one.
  await event(sql, a, "update", crvs("a", { deathDate: "2026-05-30", sex: "male" }), T0, "crvs");
  const registered = await event(sql, b, "registration", crvs("b", { deathDate: "2026-05-29" }), T0, "crvs");
  await event(sql, a, "delete", crvs("a", { deathDate: "2026-05-30" }), T0, "crvs");
  await s.fanOut.batch(options());
  deepEqual(await logged(sql), [[deaths, died, DEATH, NOW], [deaths, registered, DEATH, NOW]]);
});

backendTest(
  "fan-out store: filters read the record as it was at the event; a broken one matches nothing",
  async (
    s,
    sql,
  ) => {
    const filtered = (expression: Record<string, unknown>, over: Partial<NewSubscription> = {}) =>
      subscribe(s, { filter_type: "expression", filter: JSON.stringify({ expression }), ...over });
    const all = await subscribe(s);
    const women = await filtered({
      sex: { $eq: "female" },
      birth_date: { $lt: "2000-01-01" },
      age: { $gte: 18 },
    });
    // Case-insensitive as on SQLite (PostgreSQL's own LIKE and = are not).
    const di = await filtered({ surname: { $like: "di%" }, name: { $eq: "ANA" } });
    const x1 = await filtered({ identifier: { $eq: "X1" } });
    const poor = await filtered({ poverty_score: { $lt: 0.5 }, group_size: { $gte: 3 } }, {
      record_type: "group",
      notify_record_type: "group",
    });
    await filtered({ nosuch: { $eq: 1 } });
    // The live rows say male: the snapshots decide.
    const a = await registrant(sql, "a");
    const b = await registrant(sql, "b");
    const g = await registrant(sql, "g", "social", "group");
    await sql("INSERT INTO identifiers (id_value, id_type, registrant_id) VALUES ('X1', 'national_id', ?)", [
      a,
    ]);
    const e1 = await event(sql, a, "registration", person("a"));
    const e2 = await event(
      sql,
      b,
      "registration",
      person("b", { birthDate: "2005-01-01", name: { surname: "Smith" } }),
    );
    const group = (id: string, povertyScore: number) => ({
      ...person(id),
      recordType: "group",
      groupSize: 4,
      povertyScore,
    });
    const e3 = await event(sql, g, "registration", group("g", 0.3));
    await event(sql, g, "registration", group("h", 0.7));
    // A snapshot no filter can read: logged, not notified to the filtered subscriptions; the cursor moves on.
    const e5 = (await sql(
      `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
     VALUES ('social', 'registration', 'person', ?, '{', ?) RETURNING id`,
      [b, T0],
    ))[0].id as number;
    const lines: string[] = [];
    deepEqual(await s.fanOut.batch(options({}, lines)), { events: 5, logged: 7 });
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), [
      [all, e1],
      [women, e1],
      [di, e1],
      [x1, e1],
      [all, e2],
      [poor, e3],
      [all, e5],
    ]);
    const said = lines.map((l) => JSON.parse(l).msg);
    equal(said.filter((m) => m === "subscription filter no longer compiles").length, 1);
    equal(said.filter((m) => m.startsWith("subscription filter failed on an event")).length, 3);
  },
);
