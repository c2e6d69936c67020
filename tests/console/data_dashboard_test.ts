/**
 * The dashboard's data: registry requests counted in memory by registry, sender and status (no write per
 * request), sampled once a minute with every isolate's counters into metrics_history, then read back per minute
 * (hour) or per 10 minutes (day) with callbacks, notifications, rate-limit refusals and the queue depth.
 */
import assert from "node:assert/strict";
import { harness, searchMessage } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { Metrics } from "../../src/obs/metrics.ts";
import { HISTORY_KEEP_MINUTES, startHistorySampler } from "../../src/obs/history.ts";
import { registryOfRoute } from "../../src/http/middleware.ts";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";

const MINUTE = 60_000;
const rows = async (deps: TestDeps) =>
  Number((await deps.sql("SELECT COUNT(*) AS n FROM metrics_history"))[0].n);

Deno.test("the history sampler keeps per-minute requests by registry, sender and status from every isolate, writing nothing per request", async () => {
  // Minute-aligned start: the two samples below fall in consecutive minutes.
  const h = await harness({}, { script: [200, 503] });
  try {
    h.deps.clock.advance(MINUTE - (h.deps.clock.now() % MINUTE) + 1000);
    const bob = await createTestSender(h.deps, { limit_minute: 1 });
    // Another isolate's counters, as the process bus hands them over.
    const peer = new Metrics();
    peer.inc(
      "dci_registry_requests_total",
      "",
      { registry: "crvs", sender: "peer-sender", status: "200" },
      5,
    );
    h.deps.metrics.setPeers(() => Promise.resolve([peer.snapshot()]));
    const sampler = startHistorySampler(h.deps, { intervalMs: 0 });

    assert.equal((await h.post("/registry/sync/search", searchMessage("s-1"))).status, 200);
    assert.equal((await h.post("/dci_api/v1/social/registry/sync/search", searchMessage("s-2"))).status, 200);
    assert.equal((await h.post("/registry/search", searchMessage("a-1"))).status, 202);
    assert.equal((await h.post("/registry/sync/search", searchMessage("b-1"), { sender: bob })).status, 200);
    assert.equal((await h.post("/registry/sync/search", searchMessage("b-2"), { sender: bob })).status, 429);
    assert.equal(await h.drain(), 1, "the async search's callback (200)");
    assert.equal(await rows(h.deps), 0, "requests and callbacks wrote no history row");
    await sampler.sample();
    const first = await rows(h.deps);
    assert.ok(first > 0);

    h.deps.clock.advance(MINUTE);
    assert.equal((await h.post("/registry/search", searchMessage("a-2"))).status, 202);
    assert.equal(await h.drain(), 1, "the second callback (503: retry)");
    peer.inc(
      "dci_registry_requests_total",
      "",
      { registry: "crvs", sender: "peer-sender", status: "200" },
      2,
    );
    await sampler.sample();

    const s = await h.deps.storage.history.series("hour", h.deps.clock.now());
    assert.equal(s.buckets.length, 60);
    assert.equal(s.bucketMinutes, 1);
    const last2 = (xs: number[] | undefined) => xs?.slice(-2);
    assert.deepEqual(last2(s.requests.byRegistry.social), [5, 1]);
    assert.deepEqual(last2(s.requests.byRegistry.crvs), [5, 2], "a peer isolate's requests, as deltas");
    assert.deepEqual(last2(s.requests.bySender[h.alice.senderId]), [3, 1]);
    assert.deepEqual(last2(s.requests.bySender[bob.senderId]), [2, 0]);
    assert.deepEqual(last2(s.requests.byStatus["4xx"]), [1, 0]);
    assert.deepEqual(last2(s.requests.total), [10, 3]);
    assert.deepEqual(last2(s.rateLimited), [1, 0]);
    assert.deepEqual(last2(s.callbacks.sent), [1, 0]);
    assert.deepEqual(last2(s.callbacks.retry), [0, 1]);
    assert.deepEqual(last2(s.queue.succeeded), [0, 1], "the retrying callback's transaction waits");
    assert.deepEqual(last2(s.queue.notifications), [0, 0]);
    assert.equal(s.requests.total.slice(0, -2).reduce((a, b) => a + b, 0), 0, "older minutes are empty");
    sampler.stop();
  } finally {
    h.close();
  }
});

Deno.test("a peer isolate that misses a sample is counted once: its gains come with its next snapshot", async () => {
  const deps = await testDeps();
  try {
    deps.clock.advance(MINUTE - (deps.clock.now() % MINUTE) + 1000);
    const peer = new Metrics();
    const requests = (n: number) =>
      peer.inc("dci_registry_requests_total", "", { registry: "crvs", sender: "p", status: "200" }, n);
    let answers = true; // the bus answers with the peers that replied in time
    deps.metrics.setPeers(() => Promise.resolve(answers ? [{ ...peer.snapshot(), isolate: "http-1" }] : []));
    const sampler = startHistorySampler(deps, { intervalMs: 0 });
    requests(1000);
    await sampler.sample(); // minute 1: its first 1,000
    deps.clock.advance(MINUTE);
    requests(10);
    answers = false;
    await sampler.sample(); // minute 2: the peer late, left out
    deps.clock.advance(MINUTE);
    requests(10);
    answers = true;
    await sampler.sample(); // minute 3: its 20 since minute 1, not its 1,020 again
    const s = await deps.storage.history.series("hour", deps.clock.now());
    assert.deepEqual(s.requests.byRegistry.crvs?.slice(-3), [1000, 0, 20]);
    sampler.stop();
  } finally {
    deps.close();
  }
});

Deno.test("dashboardSeries() sums a day into 10-minute buckets, and writeHistory() prunes rows past 25 hours", async () => {
  const now = Date.parse("2026-03-01T12:05:30Z");
  const deps = await testDeps({}, { now });
  try {
    const minute = Math.floor(now / MINUTE);
    const req = (
      value: number,
    ) => [{ metric: "requests" as const, registry: "fr", sender: "s", label: "200", value }];
    await deps.storage.history.write(minute - 26 * 60, req(100));
    await deps.storage.history.write(minute - 3, req(1));
    await deps.storage.history.write(minute - 2, req(2));
    await deps.storage.history.write(minute - 2, req(4)); // a second sample in one minute adds up
    await deps.storage.history.write(minute, [{ metric: "queue", label: "pending", value: 7 }, ...req(8)]);
    const [oldest] = await deps.sql("SELECT MIN(minute) AS m FROM metrics_history");
    assert.ok(Number(oldest.m) >= minute - HISTORY_KEEP_MINUTES, "the 26-hour-old row was pruned");

    const day = await deps.storage.history.series("day", now);
    assert.equal(day.buckets.length, 144);
    assert.equal(day.bucketMinutes, 10);
    assert.equal(day.buckets.at(-1), "2026-03-01T12:00:00.000Z");
    assert.deepEqual(day.requests.byRegistry.fr.slice(-2), [0, 15], "11:50-11:59, then 12:00-12:09");
    assert.deepEqual(day.queue.pending.at(-1), 7);
    const hour = await deps.storage.history.series("hour", now);
    assert.deepEqual(hour.requests.byRegistry.fr.slice(-4), [1, 6, 0, 8]);
    assert.equal(hour.buckets.at(-1), "2026-03-01T12:05:00.000Z");

    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "viewer" });
    const res = await app.request("/admin/v1/dashboard?range=day", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(day)));
    const bad = await app.request("/admin/v1/dashboard?range=week", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bad.status, 400);
  } finally {
    deps.close();
  }
});

Deno.test("registryOfRoute() names the registry of registry routes only", () => {
  assert.equal(registryOfRoute("/dci_api/v1/crvs/registry/sync/search", "social"), "crvs");
  assert.equal(registryOfRoute("/registry/sync/search", "social"), "social");
  assert.equal(registryOfRoute("/dci_api/v1/registry/search", "fr"), "fr");
  assert.equal(registryOfRoute("/admin/v1/senders", "social"), undefined);
  assert.equal(registryOfRoute("/dci_api/v1/oauth2/client/token", "social"), undefined);
  assert.equal(registryOfRoute("unmatched", "social"), undefined);
});
