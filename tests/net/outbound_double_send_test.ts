/**
 * A POST on a kept-alive connection reaches its receiver once. Deno's node:http client re-sends a request by itself
 * when its reused socket closes before an answer: after our own deadline destroyed it, and after the receiver read
 * it and closed. Neither may happen to a delivery; a POST whose connection closed before any answer fails (its
 * delivery is retried later under the same message_id) and the pool keeps that receiver's idle sockets shorter.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import { offlineResolver } from "../helpers/no_egress.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, nth: number) => void;

/**
 * A loopback receiver counting each message_id it read in full, and its connections; `handler` gets the request's
 * number on its connection (1 for the first).
 */
async function receiver(handler: Handler) {
  const received = new Map<string, number>();
  const nth = new WeakMap<Socket, number>();
  let connections = 0;
  let closes = 0;
  const server = createServer((req, res) => {
    const n = (nth.get(req.socket) ?? 0) + 1;
    nth.set(req.socket, n);
    let body = "";
    req.on("data", (chunk: Uint8Array) => body += new TextDecoder().decode(chunk));
    req.on("end", () => {
      const id = JSON.parse(body).message_id as string;
      received.set(id, (received.get(id) ?? 0) + 1);
      handler(req, res, n);
    });
  });
  // Idle connections are closed by the client under test only (node's server would close them after 5 s).
  server.keepAliveTimeout = 120_000;
  server.on("connection", (socket: Socket) => {
    connections++;
    socket.on("close", () => closes++);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/cb`,
    received,
    connections: () => connections,
    /** Connections closed so far, by either side. */
    closes: () => closes,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

function client(overrides: Record<string, string> = {}) {
  return createOutboundClient(testConfig({ outboundAllow: "127.0.0.0/8", ...overrides }), {
    resolver: offlineResolver(),
  });
}

function post(http: ReturnType<typeof client>, url: string, id: string, timeoutMs?: number) {
  return http.request(url, { method: "POST", body: JSON.stringify({ message_id: id }), timeoutMs });
}

async function failure(p: Promise<unknown>): Promise<OutboundError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OutboundError, `expected OutboundError, got ${err}`);
  return err;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("outbound: a POST that times out on a kept-alive connection reaches the receiver once", async () => {
  // The first request of a connection is answered at once, later ones after the client's deadline.
  const r = await receiver((_req, res, n) =>
    n === 1 ? res.end("ok") : setTimeout(() => res.end("late"), 300)
  );
  const http = client();
  try {
    assert.equal((await post(http, r.url, "warm")).status, 200);
    const err = await failure(post(http, r.url, "slow", 100));
    assert.equal(err.reason, "timeout");
    // The runtime's re-send came within ~1 ms of the deadline; give it far longer to show.
    await sleep(150);
    assert.equal(r.received.get("slow"), 1);
    assert.equal(r.connections(), 1);
  } finally {
    http.close?.();
    await r.close();
  }
});

for (const how of ["closes", "resets"] as const) {
  Deno.test(`outbound: a POST the receiver read and then ${how} its kept-alive connection on is not sent again`, async () => {
    const r = await receiver((req, res, n) => {
      if (n === 1) return res.end("ok");
      how === "closes" ? req.socket.destroy() : req.socket.resetAndDestroy();
    });
    const http = client();
    try {
      assert.equal((await post(http, r.url, "warm")).status, 200);
      const err = await failure(post(http, r.url, "read"));
      assert.equal(err.reason, "network");
      assert.match(err.message, /not re-sent/);
      await sleep(50);
      assert.equal(r.received.get("read"), 1);
      assert.equal(r.connections(), 1);
    } finally {
      http.close?.();
      await r.close();
    }
  });
}

Deno.test("outbound: after a receiver closed an idle kept-alive connection under a POST, its idle sockets are kept shorter", async () => {
  // Every connection's second request is read and closed on, as when the receiver's idle close meets it.
  const r = await receiver((req, res, n) => n === 1 ? res.end("ok") : req.socket.destroy());
  // Idle sockets kept 60 s unless shortened: within the wait below, only the shortened time closes one.
  const http = client({ outboundIdleMs: "60000" });
  try {
    assert.equal((await post(http, r.url, "a")).status, 200);
    await sleep(200);
    // Idle ~200 ms, then closed under the request: the pool keeps this receiver's sockets at most ~100 ms idle.
    assert.equal((await failure(post(http, r.url, "b"))).reason, "network");
    assert.equal((await post(http, r.url, "c")).status, 200);
    // So the pool closes the socket of "c" after its shorter idle time (half of the first one's, however long that
    // was), and "d" goes on a new connection (its first request).
    for (const end = Date.now() + 20_000; r.closes() < 2 && Date.now() < end;) await sleep(20);
    assert.equal(r.closes(), 2, "the idle socket of c was not closed");
    assert.equal((await post(http, r.url, "d")).status, 200);
    assert.equal(r.connections(), 3);
    assert.deepEqual([...r.received.values()], [1, 1, 1, 1]);
  } finally {
    http.close?.();
    await r.close();
  }
});
