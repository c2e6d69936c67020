/**
 * The dashboard's series summed in the database (src/obs/dashboard.ts): the busiest senders by name (ties by name),
 * the rest as "other" per bucket, totals by registry and status class, and the queue's peak per bucket.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { TOP_SENDERS } from "../../src/obs/dashboard.ts";

Deno.test("dashboard series: top senders by name, the rest as other, sums and queue peaks per bucket", async () => {
  const now = Date.parse("2026-05-01T12:00:30Z");
  const deps = await testDeps({}, { now });
  try {
    const minute = Math.floor(now / 60_000);
    const put = (...values: [number, string, string, string, string, number]) =>
      deps.sql(
        `INSERT INTO metrics_history (span, minute, metric, registry, sender, label, value)
         VALUES (1, ?, ?, ?, ?, ?, ?)`,
        values,
      );
    // Eleven senders: s10 busiest, then s09, ...; s00 and s01 tie on 1 (s00 comes first by name).
    for (let i = 0; i <= 10; i++) {
      const name = `s${String(i).padStart(2, "0")}`;
      await put(minute, "requests", "social", name, "200", Math.max(1, i));
      await put(minute - 1, "requests", i % 2 ? "crvs" : "social", name, "429", 1);
    }
    await put(minute, "queue", "", "", "pending", 7);
    await put(minute, "queue", "social", "", "pending", 3);
    const s = await deps.storage.history.series("hour", now);
    const last2 = (xs: number[] | undefined) => xs!.slice(-2);
    const named = Object.keys(s.requests.bySender).filter((k) => k !== "other");
    assert.equal(named.length, TOP_SENDERS);
    assert.deepEqual(named.sort(), ["s03", "s04", "s05", "s06", "s07", "s08", "s09", "s10"]);
    assert.deepEqual(last2(s.requests.bySender.s10), [1, 10]);
    // other: s00, s01, s02 (1 + 1 + 2 in the last minute, 3 × 1 the minute before).
    assert.deepEqual(last2(s.requests.bySender.other), [3, 4]);
    assert.deepEqual(last2(s.requests.total), [11, 1 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10]);
    assert.deepEqual(last2(s.requests.byRegistry.crvs), [5, 0]);
    assert.deepEqual(last2(s.requests.byStatus["4xx"]), [11, 0]);
    assert.deepEqual(last2(s.rateLimited), [11, 0]);
    assert.deepEqual(last2(s.queue.pending), [0, 7], "the peak, not the sum");
  } finally {
    deps.close();
  }
});
