/** The rate-limit store, the same contract on both backends, and exact counts with two instances on PostgreSQL. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import type { AdmissionOutcome, AdmissionRequest } from "../../src/senders/limits_store.ts";
import type { RateDecision } from "../../src/senders/rate_limit.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const WINDOW_MS = 600_000;

function request(
  senderId: string,
  limits: { minute: number; day: number },
  extra: Partial<AdmissionRequest> = {},
) {
  return { senderId, limits, replayWindowMs: WINDOW_MS, ...extra };
}

function decisionOf(o: AdmissionOutcome): RateDecision {
  ok("decision" in o, `expected a decision, got ${JSON.stringify(o)}`);
  return o.decision;
}

backendTest(
  "limits store: admit counts per rolling minute and refuses uncounted with the exact wait",
  async (s) => {
    const limits = { minute: 3, day: 100 };
    const at = [T0, T0 + 10_000, T0 + 20_000];
    const allowed = [];
    for (const t of at) allowed.push(decisionOf(await s.limits.admit(request("s1", limits), t)));
    deepEqual(allowed.map((d) => [d.allowed, d.remainingMinute, d.remainingDay, d.retryAfter]), [
      [true, 2, 99, 0],
      [true, 1, 98, 0],
      [true, 0, 97, 0],
    ]);
    const refused = decisionOf(await s.limits.admit(request("s1", limits), T0 + 30_000));
    // The first request (t = 0 s) leaves the window at t = 60 s: 30 s from now.
    deepEqual(refused, {
      allowed: false,
      exceeded: "minute",
      remainingMinute: 0,
      remainingDay: 97,
      retryAfter: 30,
      retryAtMs: T0 + 60_000,
    });
    // The refusal was not counted: once the first request has left the window, one more fits.
    equal(decisionOf(await s.limits.admit(request("s1", limits), T0 + 59_000)).allowed, false);
    const later = decisionOf(await s.limits.admit(request("s1", limits), T0 + 60_000));
    deepEqual([later.allowed, later.remainingMinute, later.remainingDay], [true, 0, 96]);
    // Another sender has its own counts.
    equal(decisionOf(await s.limits.admit(request("s2", limits), T0 + 30_000)).remainingMinute, 2);
  },
);

backendTest(
  "limits store: admit refuses past the day limit until UTC midnight, then counts afresh",
  async (s) => {
    const limits = { minute: 100, day: 2 };
    const night = Date.parse("2026-05-01T23:59:30Z");
    equal(decisionOf(await s.limits.admit(request("s1", limits), night)).remainingDay, 1);
    equal(decisionOf(await s.limits.admit(request("s1", limits), night + 1000)).remainingDay, 0);
    const refused = decisionOf(await s.limits.admit(request("s1", limits), night + 2000));
    const midnight = Date.parse("2026-05-02T00:00:00Z");
    deepEqual(refused, {
      allowed: false,
      exceeded: "day",
      remainingMinute: 98,
      remainingDay: 0,
      retryAfter: 28,
      retryAtMs: midnight,
    });
    // After midnight the old day reads as zero, reset or not; the minute still counts the two of 23:59.
    const next = decisionOf(await s.limits.admit(request("s1", limits), midnight + 1000));
    deepEqual([next.allowed, next.remainingMinute, next.remainingDay], [true, 97, 1]);
    equal(await s.limits.resetDay(midnight + 2000), 0, "today's counter is kept");
    equal(await s.limits.resetDay(midnight + 86_400_000), 1, "yesterday's is dropped the next day");
  },
);

backendTest(
  "limits store: admit records the message id once, and a refused or failed request records nothing",
  async (s) => {
    const limits = { minute: 2, day: 100 };
    equal(
      decisionOf(await s.limits.admit(request("s1", limits, { messageId: "m1" }), T0)).remainingMinute,
      1,
    );
    // A repeat is a replay, not counted; it answers the kind that recorded the id (sync, the default).
    deepEqual(await s.limits.admit(request("s1", limits, { messageId: "m1" }), T0 + 1000), {
      replayed: "sync",
    });
    // The same id from another sender is another message.
    equal(
      decisionOf(await s.limits.admit(request("s2", limits, { messageId: "m1" }), T0 + 1000)).allowed,
      true,
    );
    // A check that throws is the outcome: not counted, its id not recorded.
    const boom = new Error("message_ts out of range");
    deepEqual(
      await s.limits.admit(
        request("s1", limits, {
          messageId: "m2",
          check: () => {
            throw boom;
          },
        }),
        T0 + 2000,
      ),
      { error: boom },
    );
    equal(
      decisionOf(await s.limits.admit(request("s1", limits, { messageId: "m2" }), T0 + 3000)).remainingMinute,
      0,
    );
    // Over the limit: refused before the replay guard, so m3 is not recorded and is accepted once there is room.
    equal(
      decisionOf(await s.limits.admit(request("s1", limits, { messageId: "m3" }), T0 + 4000)).allowed,
      false,
    );
    equal(
      decisionOf(await s.limits.admit(request("s1", limits, { messageId: "m3" }), T0 + 61_000)).allowed,
      true,
    );
    // Past the replay window a message id is accepted again.
    const again = await s.limits.admit(request("s1", limits, { messageId: "m1" }), T0 + WINDOW_MS + 70_000);
    equal(decisionOf(again).allowed, true);
  },
);

backendTest(
  "limits store: concurrent admits of one sender get exactly the limit, each its own decision",
  async (s) => {
    const limits = { minute: 5, day: 100 };
    const sizes: number[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        s.limits.admit(
          request("s1", limits, {
            messageId: `m${i}`,
            onWrite: (n) => sizes.push(n),
          }),
          T0,
        )),
    );
    const decisions = outcomes.map(decisionOf);
    equal(decisions.filter((d) => d.allowed).length, 5);
    deepEqual(decisions.filter((d) => d.allowed).map((d) => d.remainingMinute).sort(), [0, 1, 2, 3, 4]);
    ok(decisions.filter((d) => !d.allowed).every((d) => d.exceeded === "minute" && d.retryAfter === 60));
    equal(sizes.reduce((a, n) => a + n, 0), 12, "every request was part of one reported write");
    if (s.kind === "sqlite") deepEqual(sizes, [12], "one turn, one write");
  },
);

backendTest("limits store: token requests per IP are limited per rolling minute", async (s) => {
  const d1 = await s.limits.takeIpRequest("ip1", 2, T0);
  const d2 = await s.limits.takeIpRequest("ip1", 2, T0 + 5000);
  deepEqual([d1, d2], [
    { allowed: true, remainingMinute: 1, retryAfter: 0 },
    { allowed: true, remainingMinute: 0, retryAfter: 0 },
  ]);
  deepEqual(await s.limits.takeIpRequest("ip1", 2, T0 + 10_000), {
    allowed: false,
    exceeded: "minute",
    remainingMinute: 0,
    retryAfter: 50,
  });
  equal((await s.limits.takeIpRequest("ip2", 2, T0 + 10_000)).allowed, true);
  equal((await s.limits.takeIpRequest("ip1", 2, T0 + 60_000)).allowed, true, "the first left the window");
});

backendTest(
  "limits store: a client id locks after the failure limit and unlocks as failures age out",
  async (s) => {
    deepEqual(await s.limits.clientLockout("c1", 2, T0), { locked: false, failures: 0, retryAfter: 0 });
    await s.limits.recordClientFailure("c1", T0);
    deepEqual(await s.limits.clientLockout("c1", 2, T0 + 1000), {
      locked: false,
      failures: 1,
      retryAfter: 0,
    });
    await s.limits.recordClientFailure("c1", T0 + 20_000);
    deepEqual(await s.limits.clientLockout("c1", 2, T0 + 30_000), {
      locked: true,
      failures: 2,
      retryAfter: 30,
    });
    deepEqual(await s.limits.clientLockout("c2", 2, T0 + 30_000), {
      locked: false,
      failures: 0,
      retryAfter: 0,
    });
    deepEqual(await s.limits.clientLockout("c1", 2, T0 + 60_000), {
      locked: false,
      failures: 1,
      retryAfter: 0,
    });
  },
);

backendTest(
  "limits store: slots are taken all or none, refused with the longest wait, and given back",
  async (s) => {
    const ip = { scope: "admin_fail_ip", key: "10.0.0.1", limit: 2 };
    const all = { scope: "admin_fail_all", key: "*", limit: 3 };
    const first = await s.limits.takeSlots([ip, all], T0);
    deepEqual(first, { allowed: true, second: T0 / 1000 });
    equal((await s.limits.takeSlots([ip, all], T0 + 10_000)).allowed, true);
    // ip is full (both taken at 0 s and 10 s): refused, and `all` keeps its third slot.
    deepEqual(await s.limits.takeSlots([ip, all], T0 + 20_000), { allowed: false, retryAfter: 40, full: ip });
    // A look answers the same refusal, and takes nothing where there is room.
    deepEqual(await s.limits.fullSlots([ip, all], T0 + 20_000), { allowed: false, retryAfter: 40, full: ip });
    const other = { ...ip, key: "10.0.0.2" };
    equal(await s.limits.fullSlots([other, all], T0 + 20_000), undefined);
    equal((await s.limits.takeSlots([other, all], T0 + 20_000)).allowed, true, "the refusal took nothing");
    deepEqual(await s.limits.takeSlots([other, all], T0 + 30_000), {
      allowed: false,
      retryAfter: 30,
      full: all,
    });
    // A released slot frees its place at once, and a bucket back at zero leaves no row behind.
    await s.limits.releaseSlots([ip, all], T0 / 1000);
    equal((await s.limits.takeSlots([ip, all], T0 + 30_000)).allowed, true);
    await s.limits.releaseSlots([other, all], T0 / 1000 + 20);
    equal(
      await s.limits.purgeBuckets(T0 + 200_000),
      4,
      "only the buckets at 10 s and 30 s (ip, all) were left",
    );
  },
);

backendTest("limits store: purge deletes only the buckets that left the window", async (s) => {
  await s.limits.takeIpRequest("ip1", 10, T0);
  await s.limits.takeIpRequest("ip1", 10, T0 + 30_000);
  await s.limits.recordClientFailure("c1", T0 + 30_000);
  equal(await s.limits.purgeBuckets(T0 + 60_000), 1);
  equal(
    (await s.limits.takeIpRequest("ip1", 10, T0 + 60_000)).remainingMinute,
    8,
    "the newer one still counts",
  );
  equal(await s.limits.purgeBuckets(T0 + 60_000), 0);
});

Deno.test("limits store [postgres]: two instances racing one sender admit exactly the limit", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const limits = { minute: 15, day: 1000 };
    const outcomes = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          (i % 2 ? a : b).limits.admit(request("s1", limits, { messageId: `m${i}` }), T0 + (i % 3) * 300),
      ),
    );
    const allowed = outcomes.map(decisionOf).filter((d) => d.allowed);
    equal(allowed.length, 15);
    deepEqual(
      allowed.map((d) => d.remainingMinute).sort((x, y) => x - y),
      Array.from({ length: 15 }, (_, i) => i),
    );
    // The day counter saw exactly the admitted ones.
    const next = decisionOf(await a.limits.admit(request("s1", { minute: 100, day: 1000 }), T0 + 1000));
    equal(next.remainingDay, 1000 - 16);
  });
});

Deno.test("limits store [postgres]: two instances racing token and slot limits take exactly the limit", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const ips = await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) => (i % 2 ? a : b).limits.takeIpRequest("ip1", 7, T0 + (i % 2) * 1000),
      ),
    );
    equal(ips.filter((d) => d.allowed).length, 7);
    const ip = { scope: "admin_fail_ip", key: "10.0.0.1", limit: 6 };
    const all = { scope: "admin_fail_all", key: "*", limit: 4 };
    const slots = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => (i % 2 ? a : b).limits.takeSlots(i % 3 ? [ip, all] : [all, ip], T0),
      ),
    );
    equal(slots.filter((t) => t.allowed).length, 4);
  });
});
