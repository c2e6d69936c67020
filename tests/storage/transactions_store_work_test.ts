/** The transaction store's work queries and operator views, the same contract on both backends. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { callbackAttempt, iso, newTxn, processed, scope, T0 } from "../helpers/txn_rows.ts";

backendTest(
  "transaction store: list pages newest first by (created_at, id) with filters and a cursor",
  async (s) => {
    const t = s.transactions;
    const ids: number[] = [];
    // Two rows share a created_at: the id orders them.
    for (const [i, at] of [0, 1000, 1000, 2000, 3000].entries()) {
      ids.push(
        (await t.insert({
          ...newTxn(i % 2 ? "s2" : "s1", `tx-${i}`, at),
          registry: i < 3 ? "social" : "crvs",
        }))
          .row.id,
      );
    }
    const page1 = await t.list({ limit: 2 });
    deepEqual(page1.map((r) => r.id), [ids[4], ids[3]]);
    const page2 = await t.list({ limit: 2, before: page1[1].id });
    deepEqual(page2.map((r) => r.id), [ids[2], ids[1]]);
    const page3 = await t.list({ limit: 2, before: page2[1].id });
    deepEqual(page3.map((r) => r.id), [ids[0]]);
    deepEqual((await t.list({ limit: 10, senderId: "s2" })).map((r) => r.id), [ids[3], ids[1]]);
    deepEqual((await t.list({ limit: 10, registry: "crvs", senderId: "s1" })).map((r) => r.id), [ids[4]]);
    deepEqual(
      (await t.list({ limit: 10, since: iso(T0 + 1000), until: iso(T0 + 3000) })).map((r) => r.id),
      [ids[3], ids[2], ids[1]],
    );
    deepEqual(
      (await t.list({ limit: 10, state: "received", action: "search", transactionId: "tx-2" })).map((r) =>
        r.id
      ),
      [
        ids[2],
      ],
    );
    deepEqual(await t.list({ limit: 10, senderId: "x' OR '1'='1" }), []);
    // A cursor below every row: an empty page.
    deepEqual(await t.list({ limit: 10, before: 0 }), []);
  },
);

backendTest("transaction store: due work, leases released, state counts", async (s) => {
  const t = s.transactions;
  const id = async (tid: string) => (await t.insert(newTxn("s1", tid))).row.id;
  const fresh = await id("fresh");
  const leased = await id("leased");
  const lapsed = await id("lapsed");
  const callback = await id("callback");
  const sent = await id("sent");
  ok(await t.claimProcessing(leased, "w", iso(T0), iso(T0 + 60_000)));
  ok(await t.claimProcessing(lapsed, "w", iso(T0), iso(T0 + 1000)));
  for (const x of [callback, sent]) await processed(s, x, 2000);
  ok(await t.claimCallback(sent, "w", iso(T0 + 2000), iso(T0 + 9000)));
  const attempt = callbackAttempt(iso(T0), { duration_ms: 1, url: "https://r.example/" });
  ok(await t.markCallbackSent(sent, "w", iso(T0 + 2500), attempt));

  const due = async (now: number, staleBefore: number) =>
    (await s.dueWork.due(iso(now), iso(staleBefore), 100)).transactions.sort();
  deepEqual(await due(T0 + 5000, T0), [fresh, lapsed, callback].sort());
  deepEqual(await due(T0 + 1500, T0 - 1), [lapsed]);
  deepEqual((await s.dueWork.due(iso(T0 + 5000), iso(T0), 2)).transactions.length, 2);

  const counts = Object.fromEntries((await t.stateCounts()).map((r) => [r.state, r.n]));
  deepEqual(counts, { received: 1, processing: 2, succeeded: 1, callback_failed: 0 });
  if (s.kind === "sqlite") {
    // An attempt let go with its retry time (no owner, lease_until the retry's time) keeps it across a start.
    const retrying = await id("retrying");
    ok(await t.claimProcessing(retrying, "w", iso(T0), iso(T0 + 60_000)));
    ok(await t.releaseProcessing(retrying, "w", { error: "x", retryAt: iso(T0 + 25_000), now: iso(T0) }));
    // The only worker of the file starts: whoever held the leases is gone.
    equal(await t.releaseLeases(), 2);
    deepEqual((await t.get(leased))!.lease_owner, null);
    equal((await t.get(retrying))!.lease_until, iso(T0 + 25_000));
    ok(await t.claimProcessing(leased, "other", iso(T0 + 1), iso(T0 + 60_000)));
  } else {
    // Another instance may hold them and be working: a starting instance leaves them to lapse.
    equal(await t.releaseLeases(), 0);
    equal((await t.get(leased))!.lease_owner, "w");
    equal(await t.claimProcessing(leased, "other", iso(T0 + 1), iso(T0 + 60_000)), undefined);
  }
});

backendTest(
  "transaction store: a disabled sender's transaction is not claimed for processing until it is enabled",
  async (s, sql) => {
    const t = s.transactions;
    await sql(
      "INSERT INTO senders (sender_id, name, active, created_at, updated_at) VALUES (?,?,?,?,?)",
      ["off", "Off", 0, iso(T0), iso(T0)],
    );
    const id = (await t.insert(newTxn("off", "t-off"))).row.id;
    // Disabled while it waited for a processing slot: the claim refuses it, uncounted.
    equal(await t.claimProcessing(id, "w", iso(T0), iso(T0 + 60_000)), undefined);
    deepEqual([(await t.get(id))!.state, (await t.get(id))!.process_attempts], ["received", 0]);
    await sql("UPDATE senders SET active = 1 WHERE sender_id = ?", ["off"]);
    ok(await t.claimProcessing(id, "w", iso(T0), iso(T0 + 60_000)));
  },
);

backendTest("transaction store: cancelling open work ends it for good; open ids by sender", async (s) => {
  const t = s.transactions;
  const a = (await t.insert(newTxn("s1", "a"))).row.id;
  const b = (await t.insert(newTxn("s1", "b"))).row.id;
  const c = (await t.insert(newTxn("s2", "c"))).row.id;
  deepEqual(await t.openIds("s1", 10), [a, b]);
  deepEqual(await t.openIds("s1", 1), [a]);
  equal(await t.cancelOpen({ id: a }, "gone", iso(T0 + 1)), 1);
  equal(await t.cancelOpen({ id: a }, "gone", iso(T0 + 1)), 0);
  equal(await t.cancelOpen({ senderId: "s1" }, "r".repeat(2000), iso(T0 + 2)), 1);
  const cancelled = (await t.get(b))!;
  equal(cancelled.state, "callback_failed");
  equal(cancelled.last_error!.length, 999);
  deepEqual(await t.openIds("s1", 10), []);
  deepEqual(await t.openIds("s2", 10), [c]);
  // The worker's later conditional writes on a cancelled row change nothing.
  equal(await t.claimProcessing(b, "w", iso(T0 + 3), iso(T0 + 60_000)), undefined);
  const counts = Object.fromEntries((await t.stateCounts()).map((r) => [r.state, r.n]));
  deepEqual(counts, { received: 1, callback_failed: 2 });
});

backendTest("transaction store: retention deletes finished transactions past the cutoff only", async (s) => {
  const t = s.transactions;
  const DAY = 86_400_000;
  const old = (await t.insert(newTxn("s1", "old", 0, ["r1"]))).row.id;
  const retried = (await t.insert(newTxn("s1", "retried", 0))).row.id;
  const openOld = (await t.insert(newTxn("s1", "open-old", 0))).row.id;
  const recent = (await t.insert(newTxn("s1", "recent", 10 * DAY))).row.id;
  equal(await t.cancelOpen({ id: old }, "x", iso(T0)), 1);
  equal(await t.cancelOpen({ id: retried }, "x", iso(T0 + 9 * DAY)), 1);
  equal(await t.cancelOpen({ id: recent }, "x", iso(T0 + 10 * DAY)), 1);
  equal(await t.purgeFinished(iso(T0 + 5 * DAY)), 1);
  equal(await t.get(old), undefined);
  deepEqual(await t.findByReferenceIds(scope("s1"), ["r1"]), []);
  ok(await t.get(retried));
  ok(await t.get(openOld));
  ok(await t.get(recent));
  equal(await t.purgeFinished(iso(T0 + 5 * DAY)), 0);
});

Deno.test("transaction store [postgres]: a disabled sender's work is not due; an enabled one's is", async () => {
  await withPgInstances(1, async ([s], sql) => {
    // The senders table is the SenderStore's: its rows are written directly here.
    for (const [id, active] of [["on", 1], ["off", 0]] as const) {
      await sql(
        "INSERT INTO senders (sender_id, name, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        [id, id, active, iso(T0), iso(T0)],
      );
    }
    const on = (await s.transactions.insert(newTxn("on", "a"))).row.id;
    await s.transactions.insert(newTxn("off", "b"));
    deepEqual((await s.dueWork.due(iso(T0 + 1), iso(T0 + 1), 10)).transactions, [on]);
  });
});

backendTest(
  "transaction store: due work takes waiting transactions, due callbacks and those an operator reopened",
  async (s) => {
    const t = s.transactions;
    const waiting = (await t.insert(newTxn("s1", "waiting"))).row.id;
    await t.insert(newTxn("s1", "young", 5000));
    const firstDelivery = (await t.insert(newTxn("s1", "first"))).row.id;
    await processed(s, firstDelivery);
    const reopened = (await t.insert(newTxn("s1", "reopened"))).row.id;
    await processed(s, reopened);
    ok(await t.claimCallback(reopened, "w", iso(T0), iso(T0 + 60_000)));
    const attempt = callbackAttempt(iso(T0), {
      duration_ms: 1,
      url: "https://r.example/",
      outcome: "failed",
      http_status: 500,
      error: "HTTP 500",
    });
    ok(await t.markCallbackFailed(reopened, "w", { failure: { error: "HTTP 500" }, now: iso(T0) }, attempt));
    ok(await t.reopenFailedCallback(reopened, iso(T0 + 1000)));
    const due = async (at: number, limit = 10) =>
      (await s.dueWork.due(iso(T0 + at), iso(T0 + at), limit)).transactions.sort();
    deepEqual(await due(2000), [waiting, firstDelivery, reopened].sort());
    deepEqual(await due(500), [waiting, firstDelivery].sort(), "the reopened one is not due yet");
    equal((await due(2000, 2)).length, 2, "at most the limit");
  },
);
