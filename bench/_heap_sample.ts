/**
 * Where a server's allocations come from (young-generation garbage is what its scavenges cost): V8's sampling
 * heap profiler, through the inspector of a running `main.ts serve`, over a window of a load, summarised by
 * function (self and inclusive) and by package, in bytes per request.
 *
 *   deno run -A bench/_heap_sample.ts sample PORT OUT [--skip N] [--warm S] [--seconds S]
 *   deno run -A bench/_heap_sample.ts top OUT REQUESTS [N]
 *
 * `sample` waits for the inspector on 127.0.0.1:PORT to show a `main.ts serve` process, skipping the first N
 * such processes (bench/load.ts starts one to create its sender before the measured one: --skip 1), waits
 * --warm seconds (default 8: the load's bodies are written first), samples for --seconds (default 10; keep the
 * window inside the load) and writes the profile to OUT, objects collected since included. `top` divides by
 * REQUESTS, the requests served in that window (the run's rate times the seconds). Only an isolate the inspector
 * lists is sampled, the main one: serve from it with DCI_HTTP_ISOLATES=0, e.g.
 *
 *   DCI_HTTP_ISOLATES=0 BENCH_SERVER_FLAGS=--inspect=127.0.0.1:9339 BENCH_SKIP_CEILING=1 \
 *     deno run -A bench/load.ts &  deno run -A bench/_heap_sample.ts sample 9339 /tmp/heap.json --skip 1
 */

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: HeapNode[];
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The inspector's WebSocket URL of the (skip+1)-th `main.ts serve` process to show on `port`. */
async function serveTarget(port: string, skip: number): Promise<string> {
  const seen = new Set<string>();
  for (;;) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      const pid = /pid: (\d+)/.exec(list[0]?.title ?? "")?.[1];
      const cmd = pid ? await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "") : "";
      if (pid && cmd.endsWith("main.ts\0serve\0")) seen.add(pid);
      if (seen.size > skip) return list[0].webSocketDebuggerUrl;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
}

async function sample(port: string, out: string, args: string[]): Promise<void> {
  const ws = new WebSocket(await serveTarget(port, flag(args, "--skip", 0)));
  await new Promise((r) => ws.onopen = r);
  let id = 0;
  const pending = new Map<number, (v: { result?: { profile?: unknown } }) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  };
  const send = (method: string, params: unknown = {}) =>
    new Promise<{ result?: { profile?: unknown } }>((r) => {
      pending.set(++id, r);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await sleep(flag(args, "--warm", 8) * 1000);
  await send("HeapProfiler.enable");
  await send("HeapProfiler.startSampling", {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await sleep(flag(args, "--seconds", 10) * 1000);
  const res = await send("HeapProfiler.stopSampling");
  ws.close();
  await Deno.writeTextFile(out, JSON.stringify(res.result?.profile));
  console.log(`written ${out}`);
}

/** The project's root URL, left off its own files' names. */
const ROOT = new URL("..", import.meta.url).href;

function top(file: string, requests: number, n: number): void {
  const root = JSON.parse(Deno.readTextFileSync(file)).head as HeapNode;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const pkg = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const walk = (node: HeapNode, stack: Set<string>): number => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(ROOT, "").replace(/^.*registry\.npmjs\.org\//, "npm:");
    const key = `${functionName || "(anon)"} ${where}:${lineNumber + 1}`;
    add(self, key, node.selfSize);
    add(
      pkg,
      where.replace(/^(npm:(@[^/]+\/)?[^/]+\/[^/]+)\/.*/, "$1").replace(/^ext:([^/]+)\/.*/, "ext:$1") ||
        "(native)",
      node.selfSize,
    );
    let sum = node.selfSize;
    const inner = new Set(stack).add(key);
    for (const c of node.children ?? []) sum += walk(c, inner);
    if (!stack.has(key)) add(incl, key, sum);
    return sum;
  };
  const total = walk(root, new Set());
  const list = (title: string, m: Map<string, number>) => {
    console.log(title);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(`${(v / requests).toFixed(0).padStart(8)} B  ${k}`);
    }
  };
  console.log(`${(total / 1e6).toFixed(1)} MB sampled, ${(total / requests / 1024).toFixed(1)} KB a request`);
  list("by package (self):", pkg);
  list("by function (self):", self);
  list("by function (inclusive):", incl);
}

const USAGE =
  "usage: _heap_sample.ts sample PORT OUT [--skip N] [--warm S] [--seconds S] | top OUT REQUESTS [N]";
const [mode, ...rest] = Deno.args;
if (mode === "sample") await sample(rest[0], rest[1], rest);
else if (mode === "top") top(rest[0], Number(rest[1]), Number(rest[2] ?? 30));
else throw new Error(USAGE);
