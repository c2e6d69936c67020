/**
 * Run by tests/net/env_proxy_test.ts in a process of its own, started with NODE_USE_ENV_PROXY=1: a loopback
 * "proxy" and a loopback receiver, HTTP_PROXY and HTTPS_PROXY naming the proxy, and one request through the
 * outbound client per keep-alive setting. Prints what each listener received, as JSON.
 */
import { testConfig } from "../../src/config.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";

const seen = { proxy: 0, receiver: 0 };
// Only this probe's requests count: a listener's port may be one another test's process still calls (a
// receiver it shut down and retries), since tests run side by side.
const path = `/cb-${crypto.randomUUID()}`;
const listen = (count: () => void) =>
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.body?.cancel();
    if (new URL(req.url).pathname === path) count();
    return new Response("{}");
  });
const proxy = listen(() => seen.proxy++);
const receiver = listen(() => seen.receiver++);
Deno.env.set("HTTP_PROXY", `http://127.0.0.1:${proxy.addr.port}`);
Deno.env.set("HTTPS_PROXY", `http://127.0.0.1:${proxy.addr.port}`);
const statuses: number[] = [];
for (const outboundIdleMs of ["5000", "0"]) {
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1", outboundIdleMs }));
  const res = await http.request(`http://127.0.0.1:${receiver.addr.port}${path}`, {
    method: "POST",
    body: "{}",
  });
  statuses.push(res.status);
  http.close?.();
}
console.log(JSON.stringify({ ...seen, statuses }));
await proxy.shutdown();
await receiver.shutdown();
