/**
 * Fan-out never logs a pending row for a subscription that ended (unsubscribe, cancel, expiry, sender delete) after
 * it read the subscriptions: such rows would never be delivered nor purged, and would count in the queue depth.
 */
import { deepEqual } from "node:assert/strict";
import { backendTest, freshPgDatabase, pgRawSql, type RawSql } from "../helpers/storage.ts";
import type { Storage } from "../../src/db/storage.ts";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { pgText } from "../../src/db/pg/query.ts";
import { SUBSCRIPTION_SQL } from "../../src/subscriptions/store.ts";
import { event, NOW, options, person, registrant, subscribe } from "../helpers/fanout_fixture.ts";

/** The log: (subscription, event, status) in id order. */
async function statuses(sql: RawSql): Promise<Array<[number, number, string]>> {
  const rows = await sql("SELECT subscription_id, event_id, status FROM notifications ORDER BY id");
  return rows.map((r) => [Number(r.subscription_id), Number(r.event_id), String(r.status)]);
}

backendTest(
  "fan-out: a subscription ended between two batches of one backlog gets no rows from the later ones",
  async (s, sql) => {
    const keep = await subscribe(s);
    const gone = await subscribe(s);
    const a = await registrant(sql, "a");
    for (let i = 0; i < 4; i++) await event(sql, a, "registration", person("a"));
    deepEqual(await s.fanOut.batch(options({ batch: 2 })), { events: 2, logged: 4 });
    await s.subscriptions.end(gone, "cancelled", NOW);
    // The subscriptions read for the first batch serve the second: the ended one is in that list still.
    deepEqual(await s.fanOut.batch(options({ batch: 2 })), { events: 2, logged: 2 });
    deepEqual((await statuses(sql)).map(([sub, ev]) => [sub, ev]), [
      [keep, 1],
      [gone, 1],
      [keep, 2],
      [gone, 2],
      [keep, 3],
      [keep, 4],
    ]);
  },
);

/** Runs `fn` on a fresh PostgreSQL database: its Storage, its pool (for connections of the test's own), raw SQL. */
async function onPg(fn: (s: Storage, pool: PgPool, sql: RawSql) => Promise<void>): Promise<void> {
  const pool = openPgPool(await freshPgDatabase(), { max: 4 });
  try {
    await fn(pgStorage(pool), pool, pgRawSql(pool));
  } finally {
    await pool.end();
  }
}

/** Waits until a statement containing `text` waits for a lock, or `done()`. */
async function untilWaiting(sql: RawSql, text: string, done: () => boolean): Promise<void> {
  const waiting =
    `SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()
    AND wait_event_type = 'Lock' AND position(? in query) > 0`;
  for (let i = 0; i < 1000 && !done(); i++) {
    if ((await sql(waiting, [text])).length > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!done()) throw new Error(`no statement with "${text}" waited for a lock`);
}

Deno.test("fan-out: an unsubscribe committed while a batch evaluates gets no rows from it [postgres]", async () => {
  await onPg(async (s, pool, sql) => {
    const keep = await subscribe(s);
    const gone = await subscribe(s);
    const e1 = await event(sql, await registrant(sql, "a"), "registration", person("a"));
    // Holds the batch after its reads and evaluation, before its transaction moves the cursor.
    const holder = await pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM notifier_cursor WHERE id = 1 FOR UPDATE");
      let done = false;
      const batch = s.fanOut.batch(options()).finally(() => done = true);
      await untilWaiting(sql, "notifier_cursor", () => done);
      await s.subscriptions.end(gone, "cancelled", NOW);
      await holder.query("COMMIT");
      // Before: 2 rows, `gone`'s pending for good (its ending had failed its pending rows already).
      deepEqual(await batch, { events: 1, logged: 1 });
    } finally {
      holder.release();
    }
    deepEqual(await statuses(sql), [[keep, e1, "pending"]]);
  });
});

Deno.test("fan-out: a batch logging while an unsubscribe is under way waits for it and logs nothing for it [postgres]", async () => {
  await onPg(async (s, pool, sql) => {
    const keep = await subscribe(s);
    const gone = await subscribe(s);
    const e1 = await event(sql, await registrant(sql, "a"), "registration", person("a"));
    // The ending (the subscription store's `end`), its transaction held open.
    const ender = await pool.connect();
    try {
      await ender.query("BEGIN");
      await ender.query(pgText(SUBSCRIPTION_SQL.end), ["cancelled", NOW, NOW, null, gone]);
      let done = false;
      const batch = s.fanOut.batch(options()).finally(() => done = true);
      // A liveness check without the lock sees the subscription active (the ending is not committed) and logs.
      await untilWaiting(sql, "FOR SHARE", () => done);
      await ender.query("COMMIT");
      deepEqual(await batch, { events: 1, logged: 1 });
    } finally {
      ender.release();
    }
    deepEqual(await statuses(sql), [[keep, e1, "pending"]]);
  });
});

Deno.test("fan-out: a batch that cannot lock a subscription in time gives way and leaves the cursor [postgres]", async () => {
  await onPg(async (s, pool, sql) => {
    const sub = await subscribe(s);
    const e1 = await event(sql, await registrant(sql, "a"), "registration", person("a"));
    // A transaction holding the subscription's row for longer than the batch waits (all its tries).
    const other = await pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("UPDATE subscriptions SET updated_at = $1 WHERE id = $2", [NOW, sub]);
      deepEqual(await s.fanOut.batch(options()), { events: 0, logged: 0 });
      deepEqual([await s.fanOut.cursor(), await statuses(sql)], [0, []]);
      await other.query("COMMIT");
    } finally {
      other.release();
    }
    deepEqual(await s.fanOut.batch(options()), { events: 1, logged: 1 });
    deepEqual(await statuses(sql), [[sub, e1, "pending"]]);
  });
});
