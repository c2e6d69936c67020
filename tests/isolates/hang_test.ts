/**
 * The main isolate's hang check (src/http_isolates.ts): an HTTP isolate whose event loop stops answering is ended
 * after DCI_ISOLATE_HANG_SECONDS and reported as failed (serve then stops with a failure, so that its supervisor
 * restarts it); isolates that answer are left serving. Real Web Workers, one of them really blocked.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { hangBoundMs, startHttpIsolates } from "../../src/http_isolates.ts";

const SCRIPTED = new URL("./fixtures/scripted_isolate.ts", import.meta.url);

Deno.test("isolate hang check: a blocked HTTP isolate is ended and reported after the bound; one that answers is not", async () => {
  const deps = await testDeps({ isolateHangSeconds: "1" });
  const workers: Worker[] = [];
  try {
    const started = performance.now();
    const isolates = await startHttpIsolates(deps, {
      count: 2,
      bus: "hang-test",
      workerOnBus: false,
      isolate: (n) => {
        const w = new Worker(SCRIPTED, { type: "module", name: n === 2 ? "http-2-hangs" : "http-1" });
        workers.push(w);
        return w;
      },
    });
    const reason = await Promise.race([
      isolates.failed,
      new Promise<string>((resolve) => setTimeout(() => resolve("not reported within 10 s"), 10_000)),
    ]);
    assert.match(reason, /^http-2: its event loop has not answered for \d+ s \(ended\)$/);
    // It answered its first three pings (a quarter of the bound apart), then was silent for the bound.
    assert.ok(performance.now() - started >= 1000, "not before the bound");
    // The isolate that answers still does: it drains and reports when the server stops.
    let drained = false;
    workers[0].addEventListener("message", (e) => drained ||= (e as MessageEvent).data.t === "stopped");
    await isolates.shutdown();
    assert.ok(drained, "http-1 drained");
  } finally {
    for (const w of workers) w.terminate();
    deps.close();
  }
});

Deno.test("isolate hang check: 0 checks nothing (a blocked isolate is not reported)", async () => {
  const deps = await testDeps({ isolateHangSeconds: "0" });
  const worker = new Worker(SCRIPTED, { type: "module", name: "http-1-hangs-now" });
  try {
    const isolates = await startHttpIsolates(deps, {
      count: 1,
      bus: "hang-test-off",
      workerOnBus: false,
      isolate: () => worker,
    });
    const outcome = await Promise.race([
      isolates.failed,
      new Promise((resolve) => setTimeout(() => resolve("no failure"), 800)),
    ]);
    assert.equal(outcome, "no failure");
  } finally {
    worker.terminate();
    deps.close();
  }
});

Deno.test("isolate hang check: silence is counted from when all isolates serve, not from each one's start", async () => {
  const deps = await testDeps({ isolateHangSeconds: "1" });
  const workers: Worker[] = [];
  try {
    // http-2 takes 1.5 s to start: http-1, started at once and silent meanwhile, is not judged on that time.
    const isolates = await startHttpIsolates(deps, {
      count: 2,
      bus: "hang-test-slow",
      workerOnBus: false,
      isolate: (n) => {
        const w = new Worker(SCRIPTED, { type: "module", name: n === 2 ? "http-2-slow-start" : "http-1" });
        workers.push(w);
        return w;
      },
    });
    const outcome = await Promise.race([
      isolates.failed,
      new Promise((resolve) => setTimeout(() => resolve("no failure"), 600)),
    ]);
    assert.equal(outcome, "no failure");
    await isolates.shutdown();
  } finally {
    for (const w of workers) w.terminate();
    deps.close();
  }
});

Deno.test("isolate hang check: the bound is at least twice the search budget (a search may hold an isolate that long)", async () => {
  const config = (hang: string, budget: string) =>
    testDeps({ isolateHangSeconds: hang, searchBudgetMs: budget });
  for (
    const [hang, budget, bound] of [["60", "100", 60_000], ["5", "4000", 8_000], ["0", "4000", 0]] as const
  ) {
    const deps = await config(hang, budget);
    try {
      assert.equal(hangBoundMs(deps), bound, `${hang} s, ${budget} ms`);
    } finally {
      deps.close();
    }
  }
});

Deno.test("isolate hang check: the real HTTP isolate answers a ping before it has started serving", async () => {
  const worker = new Worker(new URL("../../src/http_isolate.ts", import.meta.url), { type: "module" });
  try {
    const answer = new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    worker.postMessage({ t: "ping" });
    assert.deepEqual(await answer, { t: "pong" });
  } finally {
    worker.terminate();
  }
});
