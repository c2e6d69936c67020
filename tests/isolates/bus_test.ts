import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Metrics } from "../../src/obs/metrics.ts";
import { newBusName, openBus } from "../../src/jobs/bus.ts";
import { kvQueue, type QueueMessage } from "../../src/jobs/queue.ts";
import { NOTIFY_KIND, wakeNotifier } from "../../src/subscriptions/notifier.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";

function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() > end) return reject(new Error("condition not met in time"));
      setTimeout(tick, 5);
    };
    tick();
  });
}

Deno.test("Metrics.render() sums peers' counters and histograms and adds families only peers have", () => {
  const a = new Metrics();
  const b = new Metrics();
  a.inc("req_total", "Requests", { route: "/x" }, 3);
  b.inc("req_total", "Requests", { route: "/x" }, 4);
  b.inc("req_total", "Requests", { route: "/y" });
  a.observe("lat_seconds", "Latency", {}, 0.002);
  b.observe("lat_seconds", "Latency", {}, 0.2);
  b.observe("txn_seconds", "Processing", { action: "search" }, 0.02);
  a.gauge("depth", "Depth", () => [{ labels: {}, value: 7 }]);
  const text = a.render([structuredClone(b.snapshot())]);
  match(text, /req_total\{route="\/x"\} 7\n/);
  match(text, /req_total\{route="\/y"\} 1\n/);
  match(text, /lat_seconds_count 2\n/);
  match(text, /lat_seconds_bucket\{le="0.0025"\} 1\n/);
  match(text, /lat_seconds_bucket\{le="0.25"\} 2\n/);
  match(text, /txn_seconds_count\{action="search"\} 1\n/);
  match(text, /depth 7\n/);
  // Rendering with peers leaves this isolate's own figures untouched.
  match(a.render(), /req_total\{route="\/x"\} 3\n/);
  ok(!a.render().includes("txn_seconds"));
});

Deno.test("Metrics levels move up and down in each isolate and render as one gauge summed over them", () => {
  const a = new Metrics();
  const b = new Metrics();
  for (let i = 0; i < 3; i++) a.add("busy", "Busy", {}, 1);
  a.add("busy", "Busy", {}, -1);
  b.add("busy", "Busy", {}, 1);
  const text = a.render([structuredClone(b.snapshot())]);
  match(text, /# TYPE busy gauge\nbusy 3\n/);
  match(a.render(), /busy 2\n/);
  b.add("busy", "Busy", {}, -1);
  match(a.render([structuredClone(b.snapshot())]), /busy 2\n/);
});

Deno.test("openBus(): wake-ups posted in one tick reach the worker isolate's end; metrics are gathered", async () => {
  const name = newBusName();
  const mainMetrics = new Metrics();
  const httpMetrics = new Metrics();
  mainMetrics.inc("c_total", "C", {}, 2);
  httpMetrics.inc("c_total", "C", {}, 5);
  const main = openBus(name, { isolate: "main", isolates: 2, metrics: mainMetrics });
  const http = openBus(name, { isolate: "http-1", isolates: 2, metrics: httpMetrics });
  const other = openBus(newBusName(), { isolate: "main", isolates: 2, metrics: new Metrics() });
  try {
    const got: QueueMessage[] = [];
    const strayed: QueueMessage[] = [];
    main.onWake((m) => got.push(m));
    other.onWake((m) => strayed.push(m));
    for (let i = 0; i < 3; i++) http.wake({ kind: "txn", id: String(i) });
    await until(() => got.length === 3);
    deepEqual(got.map((m) => m.id), ["0", "1", "2"]);
    httpMetrics.setPeers(() => http.peerMetrics());
    match(await httpMetrics.renderAll(), /c_total 7\n/);
    equal(strayed.length, 0, "a bus of another server run hears nothing");
  } finally {
    main.close();
    http.close();
    other.close();
  }
});

Deno.test("openBus() with toMain: an HTTP isolate's wake-ups go over its worker port, one message a tick, none on the channel", async () => {
  const name = newBusName();
  const main = openBus(name, { isolate: "main", isolates: 2, metrics: new Metrics() });
  const sent: QueueMessage[][] = [];
  const http = openBus(name, {
    isolate: "http-1",
    isolates: 2,
    metrics: new Metrics(),
    toMain: (m) => sent.push(m),
  });
  try {
    const got: QueueMessage[] = [];
    main.onWake((m) => got.push(m));
    for (let i = 0; i < 3; i++) http.wake({ kind: "txn", id: String(i) });
    await until(() => sent.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    equal(got.length, 0, "nothing came over the BroadcastChannel (which drops a lagging receiver's oldest)");
    // The main isolate hands what its worker port brought to its handler.
    main.deliver(sent[0]);
    deepEqual(got.map((m) => m.id), ["0", "1", "2"]);
    equal(sent.length, 1, "one port message for the tick's three wake-ups");
  } finally {
    main.close();
    http.close();
  }
});

Deno.test({
  name: "kvQueue(): an HTTP isolate's immediate enqueue and wakeNotifier reach the worker isolate's listener",
  // The Deno KV queue (deps.kv) is the embedded SQLite deployment's; PostgreSQL's queue is src/jobs/pg_queue.ts.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const worker = await testDeps();
  const http = await testDeps();
  const name = newBusName();
  const mainBus = openBus(name, { isolate: "main", isolates: 2, metrics: worker.metrics });
  const httpBus = openBus(name, { isolate: "http-1", isolates: 2, metrics: http.metrics });
  try {
    worker.queue = kvQueue(worker.kv, { bus: mainBus });
    http.queue = kvQueue(http.kv, { bus: httpBus, workerOnBus: true });
    const got: QueueMessage[] = [];
    worker.queue.listen((m) => {
      got.push(m);
      return Promise.resolve();
    });
    await http.queue.enqueue({ kind: "txn", id: "42" });
    wakeNotifier(http);
    await until(() => got.length === 2);
    deepEqual(got, [{ kind: "txn", id: "42" }, { kind: NOTIFY_KIND, id: "0" }]);
    // Without a worker in the process there is nothing to wake (KV carries enqueues, polling finds the rest).
    equal(kvQueue(http.kv).wake!({ kind: NOTIFY_KIND, id: "0" }), false);
  } finally {
    mainBus.close();
    httpBus.close();
    worker.close();
    http.close();
  }
});

Deno.test("renderAll(): a peer that misses a scrape is summed with its last snapshot, so no counter goes backwards", async () => {
  const main = new Metrics();
  const peer = new Metrics();
  main.inc("req_total", "R", {}, 10);
  peer.inc("req_total", "R", {}, 90);
  let answers = true;
  main.setPeers(() => Promise.resolve(answers ? [{ ...peer.snapshot(), isolate: "http-1" }] : []));
  match(await main.renderAll(), /req_total 100\n/);
  answers = false; // busy past the bus's wait
  main.inc("req_total", "R", {}, 1);
  match(await main.renderAll(), /req_total 101\n/, "not 11: Prometheus would read a reset");
  answers = true;
  peer.inc("req_total", "R", {}, 9);
  match(await main.renderAll(), /req_total 110\n/);
});

Deno.test("renderAll(): a gauge that fails to read is left out and counted, so its alert can see the gap", async () => {
  const m = new Metrics();
  m.gauge("queue_depth", "Q", () => Promise.reject(new Error("database is locked")));
  m.gauge("sync_broken", "S", () => {
    throw new Error("no");
  });
  m.gauge("fine", "F", () => [{ labels: {}, value: 3 }]);
  const text = await m.renderAll();
  match(text, /fine 3\n/);
  ok(!/^queue_depth/m.test(text));
  match(text, /dci_metrics_gauge_failures_total\{gauge="queue_depth"\} 1\n/);
  match(text, /dci_metrics_gauge_failures_total\{gauge="sync_broken"\} 1\n/);
});

Deno.test("renderAll(): scrapes that arrive while one is made share it; the next one after it reads anew", async () => {
  const m = new Metrics();
  let reads = 0;
  let release!: () => void;
  m.gauge("depth", "D", async () => {
    reads++;
    await new Promise<void>((r) => release = r);
    return [{ labels: {}, value: reads }];
  });
  const scrapes = Array.from({ length: 20 }, () => m.renderAll());
  await new Promise((r) => setTimeout(r, 10));
  release();
  const texts = await Promise.all(scrapes);
  equal(reads, 1, "one database read for twenty concurrent scrapes");
  ok(texts.every((t) => t === texts[0] && /depth 1\n/.test(t)));
  const next = m.renderAll();
  await new Promise((r) => setTimeout(r, 10));
  release();
  match(await next, /depth 2\n/);
});
