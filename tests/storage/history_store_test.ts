/** The metrics history store, the same contract on both backends. */
import { deepEqual, equal } from "node:assert/strict";
import { backendSqlTest, backendTest } from "../helpers/storage.ts";
import { HISTORY_KEEP_MINUTES, type HistoryPoint } from "../../src/obs/history.ts";
import { TOP_SENDERS } from "../../src/obs/dashboard.ts";

const NOW = Date.parse("2026-05-01T12:00:30Z");
const MINUTE = Math.floor(NOW / 60_000);
const last2 = (xs: number[] | undefined) => xs!.slice(-2);
const req = (sender: string, label: string, value: number, registry = "social"): HistoryPoint => ({
  metric: "requests",
  registry,
  sender,
  label,
  value,
});

backendTest("history store: counters add up per minute, the queue keeps its deepest sample", async (s) => {
  await s.history.write(MINUTE - 1, [req("a", "200", 2), { metric: "queue", label: "pending", value: 5 }]);
  await s.history.write(MINUTE, [req("a", "200", 3), { metric: "queue", label: "pending", value: 9 }]);
  await s.history.write(MINUTE, [req("a", "200", 4), { metric: "queue", label: "pending", value: 6 }]);
  // The same series twice in one write counts twice (and the queue's deeper sample wins).
  await s.history.write(MINUTE, [
    req("b", "429", 1, "crvs"),
    req("b", "429", 1, "crvs"),
    { metric: "callbacks", label: "sent", value: 2 },
    { metric: "notifications", label: "failed", value: 1 },
    { metric: "queue", label: "processing", value: 1 },
    { metric: "queue", label: "processing", value: 4 },
  ]);
  const h = await s.history.series("hour", NOW);
  equal(h.bucketMinutes, 1);
  equal(h.buckets.length, 60);
  equal(h.buckets.at(-1), new Date(MINUTE * 60_000).toISOString());
  deepEqual(last2(h.requests.total), [2, 9]);
  deepEqual(last2(h.requests.byRegistry.social), [2, 7]);
  deepEqual(last2(h.requests.byRegistry.crvs), [0, 2]);
  deepEqual(last2(h.requests.byStatus["2xx"]), [2, 7]);
  deepEqual(last2(h.rateLimited), [0, 2]);
  deepEqual(last2(h.requests.bySender.a), [2, 7]);
  deepEqual(last2(h.requests.bySender.b), [0, 2]);
  deepEqual(last2(h.callbacks.sent), [0, 2]);
  deepEqual(last2(h.notifications.failed), [0, 1]);
  deepEqual(last2(h.queue.pending), [5, 9]);
  deepEqual(last2(h.queue.processing), [0, 4]);

  // The day reads the 10-minute buckets: the two minutes fall into one bucket or two, as the clock says.
  const d = await s.history.series("day", NOW);
  equal(d.bucketMinutes, 10);
  equal(d.buckets.length, 144);
  equal(d.requests.total.reduce((a, b) => a + b, 0), 11);
  equal(Math.max(...d.queue.pending), 9);
});

backendTest(
  "history store: the busiest senders by name, ties by name, the rest summed as other",
  async (s) => {
    const points: HistoryPoint[] = [];
    for (let i = 0; i <= 10; i++) {
      const name = `s${String(i).padStart(2, "0")}`;
      points.push(req(name, "200", Math.max(1, i)));
    }
    await s.history.write(MINUTE, points);
    await s.history.write(MINUTE - 1, [req("s00", "200", 3), req("s01", "200", 3)]);
    const h = await s.history.series("hour", NOW);
    const named = Object.keys(h.requests.bySender).filter((k) => k !== "other");
    equal(named.length, TOP_SENDERS);
    // s00 and s01 now have 4 each: above s02 (2) and s03 (3); s00 wins the tie with s01 on its name.
    deepEqual(named.sort(), ["s00", "s01", "s05", "s06", "s07", "s08", "s09", "s10"]);
    deepEqual(last2(h.requests.bySender.other), [0, 2 + 3 + 4]);
    deepEqual(last2(h.requests.bySender.s00), [3, 1]);
  },
);

backendSqlTest(
  "history store: a write prunes minute rows and buckets older than the kept window",
  async (s, f) => {
    const old = MINUTE - HISTORY_KEEP_MINUTES - 20;
    await s.history.write(old, [req("a", "200", 1)]);
    await s.history.write(MINUTE - HISTORY_KEEP_MINUTES, [req("a", "200", 1)]);
    deepEqual((await f.sql.all("SELECT COUNT(*) AS n FROM metrics_history"))[0].n, 4);
    await s.history.write(MINUTE, [req("a", "200", 1)]);
    const rows = await f.sql.all("SELECT span, minute FROM metrics_history ORDER BY span, minute");
    // 12:00 starts a 10-minute bucket: the oldest minute kept is also the first minute of the oldest bucket kept.
    equal(MINUTE % 10, 0);
    deepEqual(rows.map((r) => [r.span, r.minute]), [
      [1, MINUTE - HISTORY_KEEP_MINUTES],
      [1, MINUTE],
      [10, MINUTE - HISTORY_KEEP_MINUTES],
      [10, MINUTE],
    ]);
  },
);

backendSqlTest(
  "history store: the queue depth counts open transactions by state, failed callbacks and pending notifications",
  async (s, f) => {
    const empty = await s.history.queueDepth();
    deepEqual(empty, [
      { metric: "queue", label: "callback_failed", value: 0 },
      { metric: "queue", label: "notifications", value: 0 },
    ]);
    const states = ["pending", "pending", "processing", "callback_failed", "callback_sent", "received"];
    for (const [i, state] of states.entries()) {
      await f.sql.all(
        `INSERT INTO transactions (sender_id, transaction_id, dedupe_key, message_id, correlation_id, action, registry,
         callback_url, request_header, request_message, ack, state, created_at, updated_at)
       VALUES ('s', ?, ?, ?, ?, 'search', 'social', 'https://cb.example/', '{}', '{}', '{}', ?, 't', 't')`,
        `t${i}`,
        `d${i}`,
        `m${i}`,
        `c${i}`,
        state,
      );
    }
    const depth = await s.history.queueDepth();
    const byLabel = Object.fromEntries(depth.map((p) => [p.label, p.value]));
    deepEqual(byLabel, { pending: 2, processing: 1, received: 1, callback_failed: 1, notifications: 0 });
    equal(depth.at(-1)!.label, "notifications");
  },
);

backendSqlTest("history store: two instances writing the same minute at once add up", async (s, f) => {
  const other = f.twin();
  const write = (store: typeof s, v: number) =>
    store.history.write(MINUTE, [req("a", "200", v), { metric: "queue", label: "pending", value: v }]);
  await Promise.all([write(s, 1), write(other, 2), write(s, 4), write(other, 8)]);
  const h = await s.history.series("hour", NOW);
  equal(h.requests.total.at(-1), 15);
  equal(h.queue.pending.at(-1), 8);
});
