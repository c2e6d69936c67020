/**
 * The async bench's loopback callback receiver, run in its own Web Worker so that parsing 10,000 callback
 * bodies never delays the load generator's event loop (which would be counted as server ACK latency).
 * Messages out: {port} once listening, then {count, lastAt} (lastAt = performance.timeOrigin-based epoch ms)
 * every time `expected` callbacks are in, or on request ({t: "report"}).
 */
interface Scope {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<{ t: "start"; expected: number } | { t: "report" }>) => void) | null;
}
const scope = self as unknown as Scope;
const received = new Set<string>();
let lastAt = 0;
let expected = Infinity;
const report = () => scope.postMessage({ t: "report", count: received.size, lastAt });
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const body = await req.json().catch(() => ({}));
  const corr = body?.message?.correlation_id;
  if (typeof corr === "string") received.add(corr);
  lastAt = performance.timeOrigin + performance.now();
  if (received.size === expected) report();
  return new Response('{"message":{"ack_status":"ACK"}}', {
    headers: { "content-type": "application/json" },
  });
});
scope.onmessage = (e) => {
  if (e.data.t === "start") {
    expected = e.data.expected;
    scope.postMessage({ t: "port", port: server.addr.port });
  } else report();
};
