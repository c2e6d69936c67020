/**
 * Fan-out on PostgreSQL with several instances: each batch committed once, no event skipped while events arrive,
 * and the instances taking turns under the fan-out lock. And a filter's one statement per batch, which leaves out
 * only the event it fails on.
 */
import { deepEqual, equal } from "node:assert/strict";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { EVENTS_LOCK_KEY } from "../../src/registry/pg_event_lock.ts";
import { FANOUT_LOCK_KEY } from "../../src/subscriptions/pg_fanout_store.ts";
import { event, logged, NOW, options, person, registrant, subscribe, T0 } from "../helpers/fanout_fixture.ts";

/**
 * Three instances fan out while events arrive, batches taking at most `pairs` (subscription, event) pairs: each
 * pair is logged once and none is skipped.
 */
async function race(pairs?: number): Promise<void> {
  await withPgInstances(3, async (instances, sql) => {
    const subs = [];
    for (let i = 0; i < 3; i++) subs.push(await subscribe(instances[0]));
    const a = await registrant(sql, "a");
    const snapshot = JSON.stringify(person("a"));
    // Event writers as the registry writes them: the event lock, then the inserts (a millisecond apart), in one
    // transaction each.
    const write = () =>
      sql(
        `WITH l AS (SELECT pg_advisory_xact_lock(?::bigint) AS locked)
         INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
         SELECT 'social', 'registration', 'person', ?::bigint, ? || pg_sleep(0.001)::text, ?
         FROM l, generate_series(1, 5)`,
        [EVENTS_LOCK_KEY, a, snapshot, T0],
      );
    let writing = true;
    const writers = Promise.all(Array.from({ length: 3 }, async () => {
      // Paced so that the fan-outs keep up and read right behind the writers.
      for (let i = 0; i < 20; i++) await write().then(() => new Promise((r) => setTimeout(r, 5)));
    })).finally(() => writing = false);
    const consumed = await Promise.all(instances.map(async (s) => {
      let total = 0;
      while (true) {
        const stillWriting = writing;
        const r = await s.fanOut.batch(options({ batch: 40, pairs }));
        total += r.events;
        if (r.events === 0 && !stillWriting) return total;
      }
    }));
    await writers;
    const events = 3 * 20 * 5;
    const rows = await sql(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT subscription_id * 100000 + event_id) AS pairs FROM notifications",
    );
    deepEqual([Number(rows[0].n), Number(rows[0].pairs)], [events * subs.length, events * subs.length]);
    equal(await instances[0].fanOut.cursor(), events);
    // Each batch was committed by one instance: together they consumed every event once (a batch within an event
    // counts one).
    if (!pairs) equal(consumed.reduce((x, y) => x + y, 0), events);
  });
}

Deno.test("fan-out store: three instances fanning out while events arrive log each (subscription, event) once, skipping none [postgres]", async () => {
  await race();
});

Deno.test("fan-out store: the same with each event's subscriptions over two batches [postgres]", async () => {
  await race(2);
});

Deno.test("fan-out store: a batch that finds another instance holding the fan-out lock leaves the fan-out to it [postgres]", async () => {
  await withPgInstances(2, async ([s], sql) => {
    const sub = await subscribe(s);
    const e1 = await event(sql, await registrant(sql, "a"), "registration", person("a"));
    // Another instance's fan-out, holding the lock until its session ends (as a dead host's does, in time).
    const other = sql("SELECT pg_advisory_xact_lock(?::bigint), pg_sleep(60)", [FANOUT_LOCK_KEY]).catch(
      () => {},
    );
    const held = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND granted";
    let holder: Array<Record<string, unknown>> = [];
    for (const end = Date.now() + 20_000; holder.length === 0; await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > end) throw new Error("the other fan-out never took the lock");
      holder = await sql(held, [FANOUT_LOCK_KEY]);
    }
    // Answered at once, not after the holder: nothing fanned out here, nothing logged (the notifier goes on to
    // deliver what is logged).
    deepEqual(await s.fanOut.batch(options()), { events: 0, logged: 0 });
    deepEqual(await logged(sql), []);
    await sql("SELECT pg_terminate_backend(?)", [Number(holder[0].pid)]);
    await other;
    deepEqual(await s.fanOut.batch(options()), { events: 1, logged: 1 });
    deepEqual(await logged(sql), [[sub, e1, "registration", NOW]]);
  });
});

Deno.test("fan-out store: a filter statement failing on one event of the batch leaves out only that event [postgres]", async () => {
  await withPgInstances(1, async ([s], sql) => {
    const big = await subscribe(s, {
      record_type: "group",
      notify_record_type: "group",
      filter_type: "expression",
      filter: JSON.stringify({ expression: { group_size: { $gte: 3 } } }),
    });
    const g = await registrant(sql, "g", "social", "group");
    const group = (id: string, groupSize: number) => ({ ...person(id), recordType: "group", groupSize });
    const e1 = await event(sql, g, "registration", group("g", 4));
    // Not a bigint: the statement over the whole batch fails, then each event is evaluated alone.
    await event(sql, g, "registration", group("h", 3.5));
    const e3 = await event(sql, g, "registration", group("i", 5));
    const lines: string[] = [];
    deepEqual(await s.fanOut.batch(options({}, lines)), { events: 3, logged: 2 });
    deepEqual(await logged(sql), [[big, e1, "registration", NOW], [big, e3, "registration", NOW]]);
    equal(
      lines.filter((l) => JSON.parse(l).msg.startsWith("subscription filter failed on an event")).length,
      1,
    );
  });
});
