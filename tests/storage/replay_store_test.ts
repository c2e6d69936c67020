/** The replay guard store, the same contract on both backends, and exact with two instances on PostgreSQL. */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const at = (ms: number) => ({ nowMs: T0 + ms, windowMs: 600_000 });

backendTest("replay store: a message id is accepted once per sender within the window", async (s) => {
  equal(await s.replay.guard("s1", "m1", at(0)), true);
  equal(await s.replay.guard("s1", "m1", at(1000)), false);
  equal(await s.replay.guard("s1", "m1", at(599_999)), false, "still within the window");
  equal(await s.replay.guard("s2", "m1", at(1000)), true, "another sender's id is another message");
  equal(await s.replay.guard("s1", "m2", at(1000)), true);
  // Past the window the old record (not yet purged) is taken over, and the new one counts from now.
  equal(await s.replay.guard("s1", "m1", at(600_001)), true);
  equal(await s.replay.guard("s1", "m1", at(700_000)), false);
  // Values with SQL in them are values.
  equal(await s.replay.guard("s1", "x'); DELETE FROM replay_guard; --", at(0)), true);
  equal(await s.replay.guard("s1", "m2", at(2000)), false, "nothing was deleted");
});

backendTest("replay store: purge deletes only records seen before the cutoff", async (s) => {
  await s.replay.guard("s1", "old", at(0));
  await s.replay.guard("s1", "new", at(10_000));
  equal(await s.replay.purge(T0 + 5000), 1);
  equal(await s.replay.purge(T0 + 5000), 0);
  // A purged id is accepted again even within its window (purge runs only on records past the window).
  equal(await s.replay.guard("s1", "old", at(11_000)), true);
  equal(await s.replay.guard("s1", "new", at(11_000)), false);
});

Deno.test("replay store [postgres]: two instances racing one message id accept it exactly once", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const ids = Array.from({ length: 25 }, (_, i) => `m${i}`);
    const results = await Promise.all(
      ids.flatMap((id) => [a, b, a, b].map((s) => s.replay.guard("s1", id, at(0)))),
    );
    for (let i = 0; i < ids.length; i++) {
      equal(results.slice(i * 4, i * 4 + 4).filter(Boolean).length, 1, `${ids[i]} accepted once`);
    }
  });
});

Deno.test("replay store [postgres]: two instances admitting one signed request count it once", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const req = {
      senderId: "s1",
      limits: { minute: 100, day: 100 },
      messageId: "m1",
      replayWindowMs: 600_000,
    };
    const outcomes = await Promise.all([a, b, a, b].map((s) => s.limits.admit(req, T0)));
    equal(outcomes.filter((o) => "decision" in o).length, 1);
    equal(outcomes.filter((o) => "replayed" in o).length, 3);
    const next = await a.limits.admit({ ...req, messageId: "m2" }, T0);
    deepEqual("decision" in next && [next.decision.remainingMinute, next.decision.remainingDay], [98, 98]);
  });
});
