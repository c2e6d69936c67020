/** The delivery lane store, the same contract on both backends; and one lane per subscription across pools. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest, type RawSql } from "../helpers/storage.ts";
import { newPgDatabase } from "../helpers/postgres.ts";
import type { Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import type { NewSubscription } from "../../src/subscriptions/store.ts";
import { newSubscription, subscriptionsOf } from "../helpers/subscription_fixture.ts";

const T0 = "2026-06-01T00:00:00.000Z";
const T1 = "2026-06-01T00:01:00.000Z";
const T2 = "2026-06-01T00:02:00.000Z";
const T3 = "2026-06-01T00:03:00.000Z";

async function subscription(s: Storage, over: Partial<NewSubscription> = {}): Promise<number> {
  const r = await subscriptionsOf(s).insert(newSubscription(T0, over), 100);
  if (r.kind !== "created") throw new Error(r.kind);
  return r.row.id;
}

async function lease(sql: RawSql, id: number): Promise<unknown> {
  return (await sql("SELECT lease_until FROM subscriptions WHERE id = ?", [id]))[0].lease_until;
}

backendTest(
  "lane store: a lease is claimed once until released or expired, only on an active subscription",
  async (s, sql) => {
    const id = await subscription(s);
    const pending = await subscription(s, { active: false });
    equal(await s.lanes.claim(id, T0, T2), true);
    equal(await lease(sql, id), T2);
    equal(await s.lanes.claim(id, T1, T3), false);
    // Expired at T2: another worker takes it over. The first lane (holding it until T2) can neither renew nor
    // release it any more: its renew says so (it stops), its release leaves the new holder's lease.
    equal(await s.lanes.claim(id, T2, T3), true);
    equal(await s.lanes.renew(id, T2, T3), false);
    await s.lanes.release(id, T2);
    equal(await lease(sql, id), T3);
    const T4 = new Date(Date.parse(T3) + 60_000).toISOString();
    equal(await s.lanes.renew(id, T3, T4), true);
    equal(await lease(sql, id), T4);
    await s.lanes.release(id, T4);
    equal(await lease(sql, id), null);
    equal(await s.lanes.claim(id, T0, T1), true);
    equal(await s.lanes.claim(pending, T0, T1), false);
    // Concurrent claims in one process: one wins.
    const other = await subscription(s);
    deepEqual((await Promise.all([s.lanes.claim(other, T0, T1), s.lanes.claim(other, T0, T1)])).sort(), [
      false,
      true,
    ]);
  },
);

backendTest("lane store: releaseAll frees every lease on SQLite and none on PostgreSQL", async (s, sql) => {
  const a = await subscription(s);
  const b = await subscription(s);
  await s.lanes.claim(a, T0, T2);
  await s.lanes.claim(b, T0, T2);
  if (s.kind === "sqlite") {
    equal(await s.lanes.releaseAll(), 2);
    deepEqual([await lease(sql, a), await lease(sql, b)], [null, null]);
  } else {
    // Other instances hold live leases here: they expire instead.
    equal(await s.lanes.releaseAll(), 0);
    deepEqual([await lease(sql, a), await lease(sql, b)], [T2, T2]);
  }
});

backendTest(
  "lane store: failures count up to the limit, move the subscription to error, and reset",
  async (s, sql) => {
    const id = await subscription(s);
    equal(await s.lanes.recordFailure(id, "x".repeat(600), T1, 2), "active");
    let [row] = await sql(
      "SELECT consecutive_failures, last_error, updated_at, state FROM subscriptions WHERE id = ?",
      [
        id,
      ],
    );
    deepEqual([row.consecutive_failures, String(row.last_error).length, row.updated_at], [1, 500, T1]);
    await s.lanes.clearFailures(id);
    [row] = await sql("SELECT consecutive_failures, last_error FROM subscriptions WHERE id = ?", [id]);
    deepEqual([row.consecutive_failures, row.last_error], [0, null]);
    equal(await s.lanes.recordFailure(id, "a", T1, 2), "active");
    equal(await s.lanes.recordFailure(id, "b", T2, 2), "error");
    // No longer active: nothing counted.
    equal(await s.lanes.recordFailure(id, "c", T3, 2), undefined);
    [row] = await sql("SELECT consecutive_failures, last_error, state FROM subscriptions WHERE id = ?", [id]);
    deepEqual([row.consecutive_failures, row.last_error, row.state], [2, "b", "error"]);
  },
);

backendTest(
  "lane store: the event a notify carries, the check before a send, the URL and the sender_uri",
  async (s, sql) => {
    const id = await subscription(s, { correlation_id: "corr-1" });
    // Its sender deleted since (a subscription is made for a registered sender only): the checks below see none.
    await sql("DELETE FROM senders WHERE sender_id = ?", ["s1"]);
    const [ev] = await sql(
      `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
     VALUES (?,?,?,?,?,?) RETURNING id`,
      ["social", "registration", "person", 1, '{"a":1}', T1],
    );
    deepEqual(await s.lanes.eventOf(Number(ev.id)), { snapshot: '{"a":1}', created_at: T1 });
    equal(await s.lanes.eventOf(999_999), undefined);
    await s.notifications.insert([{
      subscriptionId: id,
      eventId: Number(ev.id),
      eventType: "registration",
      recordType: "person",
      dueAt: T0,
    }], T0);
    const [n] = await s.notifications.list();
    deepEqual(await s.lanes.hold(id, n.id), {
      state: "active",
      sender_id: "s1",
      status: "pending",
      active: null,
    });
    // The check with the sender's row: the same hold, no sender while there is none.
    deepEqual(await s.lanes.sendCheck(id, n.id), { hold: await s.lanes.hold(id, n.id), sender: undefined });
    await sql("INSERT INTO senders (sender_id, name, active, created_at, updated_at) VALUES (?,?,?,?,?)", [
      "s1",
      "S",
      0,
      T0,
      T0,
    ]);
    deepEqual(await s.lanes.hold(id, n.id), {
      state: "active",
      sender_id: "s1",
      status: "pending",
      active: 0,
    });
    equal(await s.lanes.hold(id, n.id + 1), undefined);
    // Now with the sender: its row exactly as the sender store reads it, and the hold as above.
    await sql(
      "UPDATE senders SET callback_base_url = ?, outbound_auth = ?, outbound_secret = ? WHERE sender_id = ?",
      [
        "https://rx.example.org",
        "bearer",
        "sealed",
        "s1",
      ],
    );
    const check = await s.lanes.sendCheck(id, n.id);
    deepEqual(check?.hold, await s.lanes.hold(id, n.id));
    deepEqual({ ...check?.sender }, { ...await s.senders.get("s1") });
    equal(check?.sender?.outbound_secret, "sealed");
    equal(await s.lanes.sendCheck(id, n.id + 1), undefined);
    await sql("UPDATE notifications SET status = 'sent' WHERE id = ?", [n.id]);
    equal((await s.lanes.sendCheck(id, n.id))?.hold.status, "sent");
    await s.lanes.setCallbackUrl(id, "https://rx2.example.org/notify");
    equal((await s.subscriptions.getById(id))?.callback_url, "https://rx2.example.org/notify");
    const header = (h: string, corr: string) =>
      sql(
        `INSERT INTO transactions (sender_id, transaction_id, dedupe_key, message_id, correlation_id, action,
         registry, callback_url, request_header, request_message, ack, state, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [
          "s1",
          `t-${corr}`,
          `d-${corr}`,
          `m-${corr}`,
          corr,
          "subscribe",
          "social",
          "https://rx.example.org/cb",
          h,
          "{}",
          "{}",
          "succeeded",
          T0,
          T0,
        ],
      );
    equal(await s.lanes.subscribeUri("corr-1"), undefined);
    await header('{"sender_uri":"https://rx.example.org/cb","x":1}', "corr-1");
    equal(await s.lanes.subscribeUri("corr-1"), "https://rx.example.org/cb");
    await header("not json {", "corr-2");
    equal(await s.lanes.subscribeUri("corr-2"), undefined);
    await header('{"sender_uri":7}', "corr-3");
    equal(await s.lanes.subscribeUri("corr-3"), undefined);
  },
);

Deno.test("lane store [postgres]: two pools racing for one lane's lease: exactly one wins each round", async () => {
  const url = await newPgDatabase("t");
  const pools = [openPgPool(url, { max: 4 }), openPgPool(url, { max: 4 })];
  try {
    await migratePg(pools[0]);
    const [a, b] = pools.map(pgStorage);
    const ids = [await subscription(a), await subscription(a), await subscription(a)];
    for (let round = 0; round < 20; round++) {
      const now = new Date(Date.parse(T0) + round * 60_000).toISOString();
      const until = new Date(Date.parse(T0) + round * 60_000 + 30_000).toISOString();
      // Each instance tries every lane twice at once (its own pool's connections race too).
      const claims = await Promise.all(
        ids.flatMap((id) =>
          [a, b, a, b].map(async (st, i) => ({ id, who: i % 2, won: await st.lanes.claim(id, now, until) }))
        ),
      );
      for (const id of ids) {
        equal(claims.filter((c) => c.id === id && c.won).length, 1, `round ${round}, lane ${id}`);
      }
      // Half the rounds release; the others let the lease expire before the next round's `now`.
      if (round % 2 === 0) { for (const id of ids) await (round % 4 === 0 ? a : b).lanes.release(id, until); }
    }
    ok(true);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});
