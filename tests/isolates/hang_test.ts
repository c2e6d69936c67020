/**
 * The main isolate's hang check (src/http_isolates.ts): an HTTP isolate whose event loop stops answering is reported
 * as failed after DCI_ISOLATE_HANG_SECONDS (serve then stops with a failure, so that its supervisor
 * restarts it); isolates that answer are left serving. Real Web Workers, one of them really blocked.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { hangBoundMs, startHttpIsolates } from "../../src/http_isolates.ts";

const SCRIPTED = new URL("./fixtures/scripted_isolate.ts", import.meta.url);

type Isolates = Awaited<ReturnType<typeof startHttpIsolates>>;

/**
 * Runs `fn` on HTTP isolates of the scripted module named `names` (their behaviour: fixtures/scripted_isolate.ts),
 * the main isolate's check set to `hangSeconds`; ends them after.
 */
async function withScripted(
  hangSeconds: string,
  names: string[],
  fn: (isolates: Isolates, workers: Worker[]) => Promise<void>,
): Promise<void> {
  const deps = await testDeps({ isolateHangSeconds: hangSeconds });
  const workers: Worker[] = [];
  try {
    const isolates = await startHttpIsolates(deps, {
      count: names.length,
      bus: `hang-test-${crypto.randomUUID()}`,
      workerOnBus: false,
      isolate: (n) => {
        workers.push(new Worker(SCRIPTED, { type: "module", name: names[n - 1] }));
        return workers[n - 1];
      },
    });
    await fn(isolates, workers);
  } finally {
    for (const w of workers) w.terminate();
    deps.close();
  }
}

/** The failure the isolates report within `ms`, or "none within N ms". */
const failureWithin = (isolates: Isolates, ms: number) =>
  Promise.race([
    isolates.failed,
    new Promise<string>((resolve) => setTimeout(() => resolve(`none within ${ms} ms`), ms)),
  ]);

Deno.test("isolate hang check: a blocked HTTP isolate is reported after the bound; one that answers is not", () => {
  const started = performance.now();
  return withScripted("1", ["http-1", "http-2-hangs"], async (isolates, workers) => {
    const reason = await failureWithin(isolates, 10_000);
    assert.match(reason, /^http-2: its event loop has not answered for \d+ s$/);
    // It answered its first three pings (a quarter of the bound apart), then was silent for the bound.
    assert.ok(performance.now() - started >= 1000, "not before the bound");
    // The isolate that answers still does: it drains and reports when the server stops.
    let drained = false;
    workers[0].addEventListener("message", (e) => drained ||= (e as MessageEvent).data.t === "stopped");
    await isolates.shutdown();
    assert.ok(drained, "http-1 drained");
  });
});

Deno.test("isolate hang check: 0 checks nothing (a blocked isolate is not reported)", () =>
  withScripted("0", ["http-1-hangs-now"], async (isolates) => {
    assert.equal(await failureWithin(isolates, 800), "none within 800 ms");
  }));

Deno.test("isolate hang check: silence is counted from when all isolates serve, not from each one's start", () =>
  // http-2 takes 1.5 s to start: http-1, started at once and silent meanwhile, is not judged on that time.
  withScripted("1", ["http-1", "http-2-slow-start"], async (isolates) => {
    assert.equal(await failureWithin(isolates, 600), "none within 600 ms");
    await isolates.shutdown();
  }));

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
