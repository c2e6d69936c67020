/**
 * Fan-out batches sized by the (subscription, event) pairs in scope, not by events × every subscription, and the
 * subscriptions read once for the events up to the newest one then, not again each batch; on both backends.
 */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest, type RawSql, sqliteRawSql } from "../helpers/storage.ts";
import type { Storage } from "../../src/db/storage.ts";
import {
  type NewSubscription,
  SUBSCRIPTION_SQL,
  type SubscriptionRow,
} from "../../src/subscriptions/store.ts";
import { sqliteFanOutStore } from "../../src/subscriptions/fanout_store.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { sqliteStorage } from "../../src/db/storage.ts";
import {
  type EventHead,
  FANOUT_BATCH,
  FANOUT_LIST_MAX_AGE_MS,
  FANOUT_ROWS,
  type FanOutCursor,
  fanOutList,
  type FanOutOptions,
  type FanOutStats,
  PG_FANOUT_ROWS,
  planBatch,
} from "../../src/subscriptions/fanout.ts";
import { event, logged, NOW, options, person, registrant, T0 } from "../helpers/fanout_fixture.ts";
import { newSubscription, subscriptionsOf } from "../helpers/subscription_fixture.ts";

/** Runs batches until caught up; what they did, with the rows they logged and the most one logged. */
async function drain(
  s: Storage,
  over: Partial<FanOutOptions> = {},
): Promise<FanOutStats & { logged: number; most: number }> {
  const stats: FanOutStats = { batches: 0, subscriptionsRead: 0, pairs: 0 };
  let logged = 0, most = 0;
  for (;;) {
    const r = await s.fanOut.batch(options({ ...over, stats }));
    logged += r.logged;
    most = Math.max(most, r.logged);
    if (r.events === 0) return { ...stats, logged, most };
  }
}

/** `count` active subscriptions (one sender, any number); their ids. */
async function subscriptions(
  s: Storage,
  count: number,
  over: Partial<NewSubscription> = {},
): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = await subscriptionsOf(s).insert(newSubscription(T0, over), 10_000);
    if (r.kind !== "created") throw new Error(r.kind);
    ids.push(r.row.id);
  }
  return ids;
}

/** 2^doublings person registrations of one registrant (doubled by copying): their count. */
async function registrations(sql: RawSql, doublings: number): Promise<number> {
  await event(sql, await registrant(sql, "a"), "registration", person("a"));
  for (let i = 0; i < doublings; i++) {
    await sql(
      `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
      SELECT registry, event_type, record_type, registrant_id, snapshot, created_at FROM registry_events ORDER BY id`,
    );
  }
  return 2 ** doublings;
}

const GROUPS = { record_type: "group", notify_record_type: "group" } as const;

backendTest(
  "fan-out: events no subscription's scope covers take full batches, whatever the number of subscriptions, read once",
  async (s, sql) => {
    await subscriptions(s, 100, GROUPS);
    const events = await registrations(sql, 10);
    // Before: events per batch were FANOUT_ROWS / 100 = 10 on SQLite (103 write transactions), and every batch
    // read the 100 subscriptions again.
    deepEqual(await drain(s), {
      batches: Math.ceil(events / FANOUT_BATCH),
      subscriptionsRead: 100,
      pairs: 0,
      logged: 0,
      most: 0,
    });
    equal(await s.fanOut.cursor(), events);
  },
);

backendTest(
  "fan-out: a batch takes events while their pairs in scope fit the bound; each pair logged once, in order",
  async (s, sql) => {
    const subs = await subscriptions(s, 30);
    await subscriptions(s, 1, GROUPS);
    const events = await registrations(sql, 9);
    const bound = s.kind === "sqlite" ? FANOUT_ROWS : PG_FANOUT_ROWS;
    const perBatch = Math.min(FANOUT_BATCH, Math.floor(bound / subs.length));
    // Before, PostgreSQL took 500 events whatever they held (15,000 rows in one batch), and SQLite 1,000 / 31
    // events, the subscription out of scope counted.
    deepEqual(await drain(s), {
      batches: Math.ceil(events / perBatch),
      subscriptionsRead: 31,
      pairs: events * subs.length,
      logged: events * subs.length,
      most: perBatch * subs.length,
    });
    const expected = [];
    for (let e = 1; e <= events; e++) for (const sub of subs) expected.push([sub, e]);
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), expected);
  },
);

backendTest(
  "fan-out: the subscriptions made since are read once the cursor reaches the newest event of the list's read",
  async (s, sql) => {
    const [a] = await subscriptions(s, 1);
    const r = await registrant(sql, "a");
    for (let i = 0; i < 10; i++) await event(sql, r, "registration", person("a"));
    const stats: FanOutStats = { batches: 0, subscriptionsRead: 0, pairs: 0 };
    deepEqual(await s.fanOut.batch(options({ batch: 3, stats })), { events: 3, logged: 3 });
    // Made during the backlog: in scope after event 10, where the first read's list ends.
    const [b] = await subscriptions(s, 1);
    for (let i = 0; i < 2; i++) await event(sql, r, "registration", person("a"));
    const rest = await drain(s, { batch: 3 });
    // The list extended with b alone (before, read again whole: 2).
    deepEqual([stats.subscriptionsRead, rest.subscriptionsRead, rest.batches], [1, 1, 4]);
    const expected = [];
    for (let e = 1; e <= 12; e++) for (const sub of e > 10 ? [a, b] : [a]) expected.push([sub, e]);
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), expected);
  },
);

backendTest(
  "fan-out: past the newest event of the list's read, only subscriptions made or approved since are read",
  async (s, sql) => {
    const pending = await subscriptionsOf(s).insert(newSubscription(T0, { active: false }), 10_000);
    if (pending.kind !== "created") throw new Error(pending.kind);
    const p = pending.row.id;
    const [a] = await subscriptions(s, 1);
    const r = await registrant(sql, "a");
    let read = 0;
    for (let i = 0; i < 3; i++) {
      await event(sql, r, "registration", person("a"));
      read += (await drain(s)).subscriptionsRead;
    }
    // a, read once: before, the list was read again whole after every new event.
    equal(read, 1);
    // Approved (older than a) and made since: both read, and logged in id order with a.
    await subscriptionsOf(s).approve(pending.row.code, NOW);
    const [b] = await subscriptions(s, 1);
    await event(sql, r, "registration", person("a"));
    equal((await drain(s)).subscriptionsRead, 2);
    await event(sql, r, "registration", person("a"));
    equal((await drain(s)).subscriptionsRead, 0);
    const expected = [[a, 1], [a, 2], [a, 3], [p, 4], [a, 4], [b, 4], [p, 5], [a, 5], [b, 5]];
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), expected);
  },
);

backendTest(
  "fan-out: a listed subscription found ended, or the list's age, has the list read whole again",
  async (s, sql) => {
    const [a, b] = await subscriptions(s, 2);
    const r = await registrant(sql, "a");
    const round = async (now = NOW) => {
      await event(sql, r, "registration", person("a"));
      return (await drain(s, { now })).subscriptionsRead;
    };
    equal(await round(), 2);
    await subscriptionsOf(s).end(a, "cancelled", NOW);
    // a is still listed: no row for it, and the list is marked stale.
    equal(await round(), 0);
    equal(await round(), 1);
    equal(await round(), 0);
    const later = new Date(Date.parse(NOW) + FANOUT_LIST_MAX_AGE_MS).toISOString();
    equal(await round(later), 1);
    equal(await round(later), 0);
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), [[a, 1], [b, 1], [b, 2], [b, 3], [b, 4], [
      b,
      5,
    ], [b, 6]]);
  },
);

backendTest(
  "fan-out: a listed subscription ended whose filter matches nothing is dropped at once, the list read again",
  async (s, sql) => {
    const male = JSON.stringify([{
      seq_num: 1,
      expression1: { attribute_name: "sex", operator: "eq", attribute_value: "male" },
    }]);
    const [a] = await subscriptions(s, 1, { filter_type: "predicate", filter: male });
    const [b] = await subscriptions(s, 1);
    const r = await registrant(sql, "a");
    const round = async () => {
      await event(sql, r, "registration", person("a"));
      const stats = await drain(s);
      return [stats.subscriptionsRead, stats.pairs];
    };
    deepEqual(await round(), [2, 2]);
    await subscriptionsOf(s).end(a, "cancelled", NOW);
    // Dropped by the batch that meets it. Before, on PostgreSQL, only a matching row was checked: a was listed
    // (its filter evaluated each batch) until the list's age.
    deepEqual(await round(), [0, 2]);
    deepEqual(await round(), [1, 1]);
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), [[b, 1], [b, 2], [b, 3]]);
  },
);

backendTest(
  "fan-out: an event in scope of more subscriptions than a batch takes is spread over batches, each pair logged once",
  async (s, sql) => {
    const subs = await subscriptions(s, 25);
    const r = await registrant(sql, "a");
    for (let i = 0; i < 2; i++) await event(sql, r, "registration", person("a"));
    // Before, the first event of a batch was taken whatever its count: one batch of 25 rows per event.
    const first = await drain(s, { pairs: 10, batch: 1 });
    // Event 1 in 10 + 10 + 5 (the cursor before it, at subscriptions 10 then 20), then event 2 the same way.
    deepEqual(first, { batches: 6, subscriptionsRead: 25, pairs: 50, logged: 50, most: 10 });
    equal(await s.fanOut.cursor(), 2);
    const expected = [];
    for (let e = 1; e <= 2; e++) for (const sub of subs) expected.push([sub, e]);
    deepEqual((await logged(sql)).map(([sub, ev]) => [sub, ev]), expected);
    const cursorRow = async () => {
      const [c] = await sql(
        "SELECT last_event_id, split_event_id, split_subscription_id FROM notifier_cursor",
      );
      return [Number(c.last_event_id), Number(c.split_event_id), Number(c.split_subscription_id)];
    };
    deepEqual(await cursorRow(), [2, 0, 0]);
    // Within an event: the cursor names the last subscription logged, and the rest follows from it.
    await event(sql, r, "registration", person("a"));
    deepEqual(await s.fanOut.batch(options({ pairs: 10 })), { events: 1, logged: 10 });
    deepEqual(await cursorRow(), [2, 3, subs[9]]);
    const [late] = await subscriptions(s, 1);
    deepEqual(await drain(s, { pairs: 10 }), {
      batches: 2,
      subscriptionsRead: 0,
      pairs: 15,
      logged: 15,
      most: 10,
    });
    // A subscription made while an event was half done starts after it (its from_event_id).
    deepEqual((await logged(sql)).filter(([, ev]) => ev === 3).map(([sub]) => sub), subs);
    equal((await logged(sql)).some(([sub]) => sub === late), false);
  },
);

backendTest(
  "fan-out: a split event an older instance fanned out and moved past leaves the next event whole",
  async (s, sql) => {
    const subs = await subscriptions(s, 25);
    const r = await registrant(sql, "a");
    const [e1, e2] = [
      await event(sql, r, "registration", person("a")),
      await event(sql, r, "registration", person("a")),
    ];
    deepEqual(await s.fanOut.batch(options({ pairs: 10 })), { events: 1, logged: 10 });
    // What the version before 0043 does after logging event 1 whole: its move names last_event_id alone.
    await sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1 AND last_event_id = 0", [e1]);
    await drain(s, { pairs: 10 });
    // Before the split named its event, event 2 lost its first ten subscriptions here.
    deepEqual((await logged(sql)).filter(([, ev]) => ev === e2).map(([sub]) => sub), subs);
    equal(await s.fanOut.cursor(), e2);
  },
);

/** A subscription as fan-out lists it: social persons' registrations unless `over` says otherwise. */
const sub = (id: number, over: Partial<SubscriptionRow> = {}) =>
  ({
    id,
    registry: "social",
    record_type: "person",
    reg_event_type: "registration",
    from_event_id: 0,
    frequency: null,
    start_time: null,
    end_time: null,
    ...over,
  }) as SubscriptionRow;

/** An event's head: a social registration of a person unless said otherwise. */
const head = (id: number, record_type = "person", event_type = "registration") =>
  ({ id, registry: "social", event_type, record_type, created_at: T0 }) as EventHead;

Deno.test("planBatch() takes for an event only the subscriptions to its type, and those to a registry's own types", () => {
  const list = fanOutList(
    [
      sub(1, { reg_event_type: "update" }),
      sub(2),
      sub(3, { reg_event_type: "NewHouseHoldMember" }),
      sub(4, { reg_event_type: "update" }),
      sub(5),
      sub(6, { reg_event_type: "delete" }),
    ],
    9,
    T0,
  );
  const heads = [head(1), head(2, "person", "update"), head(3, "person", "delete")];
  const plan = planBatch(list, heads, 100);
  deepEqual(plan.candidates.map((c) => [c.sub.id, c.ev.id]), [
    [2, 1],
    [3, 1],
    [5, 1],
    [1, 2],
    [3, 2],
    [4, 2],
    [3, 3],
    [6, 3],
  ]);
});

Deno.test("planBatch() bounds a batch by its pairs in scope, splitting an event with more than that", () => {
  const list = fanOutList([sub(1), sub(2), sub(3, { from_event_id: 2 }), sub(4, GROUPS)], 9, T0);
  const pairs = (heads: EventHead[], max: number, cursor?: FanOutCursor) => {
    const p = planBatch(list, heads, max, cursor);
    return {
      pairs: p.candidates.map((c) => [c.sub.id, c.ev.id]),
      events: p.events.map((e) => e.id),
      last: p.next.subscription ? [p.next.event, p.next.splitEvent, p.next.subscription] : p.next.event,
    };
  };
  // Event 1: subscriptions 1 and 2; event 2 (a group): 4; event 3: 1, 2 and 3.
  const heads = [head(1), head(2, "group"), head(3)];
  deepEqual(pairs(heads, 3), { pairs: [[1, 1], [2, 1], [4, 2]], events: [1, 2], last: 2 });
  deepEqual(pairs(heads, 6), {
    pairs: [[1, 1], [2, 1], [4, 2], [1, 3], [2, 3], [3, 3]],
    events: [1, 2, 3],
    last: 3,
  });
  // An event with more pairs than a batch takes: the first `max` of them, the cursor left before the event with
  // the last subscription taken, and the rest from there.
  deepEqual(pairs([head(3)], 1, { event: 2, splitEvent: 0, subscription: 0 }), {
    pairs: [[1, 3]],
    events: [3],
    last: [2, 3, 1],
  });
  deepEqual(pairs([head(3), head(4)], 2, { event: 2, splitEvent: 3, subscription: 1 }), {
    pairs: [[2, 3], [3, 3]],
    events: [3],
    last: 3,
  });
  deepEqual(pairs([head(3), head(4)], 4, { event: 2, splitEvent: 3, subscription: 2 }), {
    pairs: [[3, 3], [1, 4], [2, 4], [3, 4]],
    events: [3, 4],
    last: 4,
  });
  // A split an older instance moved past (it moves last_event_id alone) applies to no other event.
  deepEqual(pairs([head(4)], 4, { event: 3, splitEvent: 3, subscription: 2 }), {
    pairs: [[1, 4], [2, 4], [3, 4]],
    events: [4],
    last: 4,
  });
  // The event after a first one that fits is not split: it waits for the next batch, first there.
  deepEqual(pairs([head(1), head(3)], 2), { pairs: [[1, 1], [2, 1]], events: [1], last: 1 });
  // Events no subscription covers cost nothing; with none to read, the cursor goes to the list's newest event.
  deepEqual(pairs([head(5, "crvs_person"), head(6, "crvs_person")], 1), { pairs: [], events: [], last: 6 });
  deepEqual(pairs([], 1), { pairs: [], events: [], last: 9 });
});

Deno.test("fan-out on SQLite reads its subscriptions before it takes the write lock, whole or since its list", async () => {
  const db = openDatabase(":memory:");
  migrate(db);
  try {
    const storage = sqliteStorage(db);
    const sql = sqliteRawSql(db);
    await subscriptions(storage, 2);
    const r = await registrant(sql, "a");
    // Whether a write transaction was open when each subscription read was prepared (each is prepared once).
    const inTransaction: boolean[] = [];
    const reads: string[] = [SUBSCRIPTION_SQL.fanOut, SUBSCRIPTION_SQL.fanOutSince];
    const watched = new Proxy(db, {
      get(target, prop) {
        if (prop === "prepare") {
          return (text: string) => {
            if (reads.includes(text)) inTransaction.push(target.isTransaction);
            return target.prepare(text);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const store = sqliteFanOutStore(watched);
    for (let i = 0; i < 2; i++) {
      await event(sql, r, "registration", person("a"));
      deepEqual(await store.batch(options()), { events: 1, logged: 2 });
    }
    // Before, both were read inside the batch's write transaction.
    deepEqual(inTransaction, [false, false]);
  } finally {
    db.close();
  }
});
