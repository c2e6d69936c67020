/**
 * The fallback load generator (when wrk is absent): GEN_CONNECTIONS concurrent fetch loops posting the
 * pre-signed bodies of `${GEN_PREFIX}.{k}.ndjson` in turn for GEN_SECONDS; prints one JSON result line.
 * GEN_URL may list several URLs (comma-separated, instances of one server): loop i posts to URL i mod N.
 */
const urls = Deno.env.get("GEN_URL")!.split(",");
const auth = Deno.env.get("GEN_AUTH")!;
const prefix = Deno.env.get("GEN_PREFIX")!;
const parts = Number(Deno.env.get("GEN_PARTS") ?? 1);
const connections = Number(Deno.env.get("GEN_CONNECTIONS") ?? 64);
const seconds = Number(Deno.env.get("GEN_SECONDS") ?? 30);

const bodies: string[] = [];
for (let k = 0; k < parts; k++) {
  bodies.push(...(await Deno.readTextFile(`${prefix}.${k}.ndjson`)).split("\n").filter((l) => l !== ""));
}
let next = 0;
let errors = 0;
const latencies: number[] = [];
const headers = { "content-type": "application/json", authorization: auth };
const started = performance.now();
const end = started + seconds * 1000;
async function loop(_: unknown, i: number): Promise<void> {
  const url = urls[i % urls.length];
  while (performance.now() < end) {
    const body = bodies[next++ % bodies.length];
    const t = performance.now();
    try {
      const res = await fetch(url, { method: "POST", headers, body });
      await res.arrayBuffer();
      if (res.status < 200 || res.status >= 400) errors++;
    } catch {
      errors++;
    }
    latencies.push(performance.now() - t);
  }
}
await Promise.all(Array.from({ length: connections }, loop));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p / 100 * latencies.length))] ?? NaN;
console.log(JSON.stringify({
  requests: latencies.length,
  seconds: elapsed,
  rps: latencies.length / elapsed,
  p50Ms: pct(50),
  p99Ms: pct(99),
  errors,
}));
