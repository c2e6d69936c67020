/** The replay guard store, the same contract on both backends, and exact with two instances on PostgreSQL. */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import type { Storage } from "../../src/db/storage.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const WINDOW_MS = 600_000;

/** Whether admitting `messageId` of `senderId` at T0 + `ms` was counted (false: a replay). */
async function admitted(s: Storage, senderId: string, messageId: string, ms: number): Promise<boolean> {
  const req = { senderId, limits: { minute: 1000, day: 10_000 }, messageId, replayWindowMs: WINDOW_MS };
  return "decision" in await s.limits.admit(req, T0 + ms);
}

backendTest("replay guard: a message id is admitted once per sender within the window", async (s) => {
  equal(await admitted(s, "s1", "m1", 0), true);
  equal(await admitted(s, "s1", "m1", 1000), false);
  equal(await admitted(s, "s1", "m1", 599_999), false, "still within the window");
  equal(await admitted(s, "s2", "m1", 1000), true, "another sender's id is another message");
  equal(await admitted(s, "s1", "m2", 1000), true);
  // Past the window the old record (not yet purged) is taken over, and the new one counts from now.
  equal(await admitted(s, "s1", "m1", 600_001), true);
  equal(await admitted(s, "s1", "m1", 700_000), false);
  // Values with SQL in them are values.
  equal(await admitted(s, "s1", "x'); DELETE FROM replay_guard; --", 0), true);
  equal(await admitted(s, "s1", "m2", 2000), false, "nothing was deleted");
});

backendTest("replay guard: purge deletes only records seen before the cutoff", async (s) => {
  await admitted(s, "s1", "old", 0);
  await admitted(s, "s1", "new", 10_000);
  equal(await s.replay.purge(T0 + 5000), 1);
  equal(await s.replay.purge(T0 + 5000), 0);
  // A purged id is admitted again even within its window (purge runs only on records past the window).
  equal(await admitted(s, "s1", "old", 11_000), true);
  equal(await admitted(s, "s1", "new", 11_000), false);
});

backendTest(
  "replay guard: a large purge goes in chunks, the event loop turning between them",
  async (s, sql) => {
    const old = 12_001;
    await sql(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) " +
        "INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) SELECT 's1', 'old-' || i, ? FROM n",
      [old, T0],
    );
    for (const id of ["new-1", "new-2"]) await admitted(s, "s1", id, 10_000);
    // A timer set before the purge fires before it ends: a single statement (SQLite runs it synchronously) would not
    // let it, holding the isolate for the whole delete.
    let turned = false;
    const timer = setTimeout(() => turned = true, 0);
    try {
      equal(await s.replay.purge(T0 + 5000), old);
    } finally {
      clearTimeout(timer);
    }
    equal(turned, true, "the event loop did not turn during the purge");
    deepEqual(
      (await sql("SELECT message_id FROM replay_guard ORDER BY message_id")).map((r) => r.message_id),
      [
        "new-1",
        "new-2",
      ],
    );
  },
);

Deno.test("replay store [postgres]: two instances admitting one signed request count it once", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const req = {
      senderId: "s1",
      limits: { minute: 100, day: 100 },
      messageId: "m1",
      replayWindowMs: WINDOW_MS,
    };
    const outcomes = await Promise.all([a, b, a, b].map((s) => s.limits.admit(req, T0)));
    equal(outcomes.filter((o) => "decision" in o).length, 1);
    equal(outcomes.filter((o) => "replayed" in o).length, 3);
    const next = await a.limits.admit({ ...req, messageId: "m2" }, T0);
    deepEqual("decision" in next && [next.decision.remainingMinute, next.decision.remainingDay], [98, 98]);
  });
});
