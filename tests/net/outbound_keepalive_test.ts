import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import { offlineResolver } from "../helpers/no_egress.ts";

/** A loopback node:http receiver counting TCP connections (and which local address each one reached). */
async function receiver(
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end("ok"),
  options: { host?: string; port?: number; keepAliveTimeout?: number } = {},
) {
  const connections: string[] = [];
  const hosts: string[] = [];
  let closed = 0;
  const server = createServer((req, res) => {
    hosts.push(req.headers.host ?? "");
    req.resume();
    req.on("end", () => handler(req, res));
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  server.on("connection", (socket: Socket) => {
    connections.push(socket.localAddress ?? "");
    socket.on("close", () => closed++);
  });
  await new Promise<void>((r) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    connections,
    hosts,
    closed: () => closed,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

function client(overrides: Record<string, string> = {}, names: Record<string, string[]> = {}) {
  return createOutboundClient(testConfig({ outboundAllow: "127.0.0.0/8", ...overrides }), {
    resolver: offlineResolver(names),
  });
}

Deno.test("outbound keep-alive: two sequential requests to one receiver use one TCP connection", async () => {
  const r = await receiver();
  const http = client();
  try {
    for (let i = 0; i < 3; i++) {
      const res = await http.request(`http://127.0.0.1:${r.port}/cb`, { method: "POST", body: `{"i":${i}}` });
      assert.equal(res.text(), "ok");
    }
    assert.equal(r.hosts.length, 3);
    assert.equal(r.connections.length, 1);
  } finally {
    http.close?.();
    await r.close();
  }
});

Deno.test("outbound keep-alive: DCI_OUTBOUND_IDLE_MS=0 opens a connection per request", async () => {
  const r = await receiver();
  const http = client({ outboundIdleMs: "0" });
  try {
    await http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" });
    await http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" });
    assert.equal(r.connections.length, 2);
  } finally {
    http.close?.();
    await r.close();
  }
});

Deno.test("outbound keep-alive: different host names never share a socket, even on one address", async () => {
  const r = await receiver();
  const http = client({}, { "a.example.org": ["127.0.0.1"], "b.example.org": ["127.0.0.1"] });
  try {
    await http.request(`http://a.example.org:${r.port}/`, { method: "GET" });
    await http.request(`http://b.example.org:${r.port}/`, { method: "GET" });
    await http.request(`http://a.example.org:${r.port}/`, { method: "GET" });
    assert.deepEqual(r.hosts, [
      `a.example.org:${r.port}`,
      `b.example.org:${r.port}`,
      `a.example.org:${r.port}`,
    ]);
    assert.equal(r.connections.length, 2);
  } finally {
    http.close?.();
    await r.close();
  }
});

Deno.test("outbound keep-alive: a name re-resolved to another address gets a new socket to that address", async () => {
  const first = await receiver(undefined, { host: "127.0.0.1" });
  const second = await receiver(undefined, { host: "127.0.0.2", port: first.port });
  // The same name, vetted anew per request: first 127.0.0.1, then 127.0.0.2 (a rebinding, as far as the pool
  // knows). The open socket to the first address must not carry the second request.
  const answers = [["127.0.0.1"], ["127.0.0.2"], ["127.0.0.1"]];
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.0/8" }), {
    resolver: () => Promise.resolve(answers.shift()!),
  });
  try {
    for (let i = 0; i < 3; i++) {
      await http.request(`http://rebind.example.org:${first.port}/`, { method: "GET" });
    }
    assert.equal(first.hosts.length, 2);
    assert.equal(second.hosts.length, 1);
    assert.deepEqual(first.connections, ["127.0.0.1"]);
    assert.deepEqual(second.connections, ["127.0.0.2"]);
  } finally {
    http.close?.();
    await first.close();
    await second.close();
  }
});

Deno.test("outbound keep-alive: a response not read to its end never goes back to the pool", async () => {
  const r = await receiver((_req, res) => res.end("x".repeat(50_000)));
  const http = client();
  try {
    const url = `http://127.0.0.1:${r.port}/`;
    const cut = await http.request(url, { method: "GET", bodyPrefix: 100 });
    assert.equal(cut.truncated, true);
    await http.request(url, { method: "GET", statusOnly: true });
    const err = await http.request(url, { method: "GET", maxBytes: 1024 }).catch((e) => e);
    assert.ok(err instanceof OutboundError && err.reason === "too_large");
    // Each cut response cost its connection; a whole one leaves its socket for the next request.
    await http.request(url, { method: "GET" });
    await http.request(url, { method: "GET" });
    assert.equal(r.connections.length, 4);
  } finally {
    http.close?.();
    await r.close();
  }
});

Deno.test("outbound keep-alive: a receiver that closes idle sockets does not fail a delivery", async () => {
  const r = await receiver(undefined, { keepAliveTimeout: 1 });
  const http = client();
  try {
    const url = `http://127.0.0.1:${r.port}/`;
    for (let i = 0; i < 3; i++) {
      assert.equal((await http.request(url, { method: "POST", body: "{}" })).status, 200);
      // Wait (on the event, not a clock) until the receiver has closed the idle connection.
      while (r.closed() < r.connections.length) await new Promise((res) => setTimeout(res, 5));
    }
    assert.equal(r.hosts.length, 3);
  } finally {
    http.close?.();
    await r.close();
  }
});

/**
 * A raw receiver that answers the first request of each connection with keep-alive and then, on the second
 * request of the same connection, does what `second` says: reset the connection before answering (an idle
 * socket closed in the race with our request), or start an answer and then reset.
 */
async function rawReceiver(second: "reset" | "answer-then-reset") {
  let connections = 0, requests = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let seen = 0;
    socket.on("data", (chunk: Uint8Array) => {
      // One small request per chunk in this test (a GET without a body).
      const starts = new TextDecoder().decode(chunk).split("\r\n\r\n").length - 1;
      for (let i = 0; i < starts; i++) {
        requests++;
        if (++seen === 1) {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
        } else if (second === "reset") socket.resetAndDestroy();
        else {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
          setTimeout(() => socket.resetAndDestroy(), 20);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    requests: () => requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

Deno.test("outbound keep-alive: a reused socket reset before any response byte is retried once on a new one", async () => {
  const r = await rawReceiver("reset");
  const http = client();
  try {
    const url = `http://127.0.0.1:${r.port}/`;
    assert.equal((await http.request(url, { method: "GET" })).text(), "ok");
    // Reused socket → reset → the same request on a fresh connection (whose first answer is "ok").
    assert.equal((await http.request(url, { method: "GET" })).text(), "ok");
    assert.equal(r.connections(), 2);
    assert.equal(r.requests(), 3);
  } finally {
    http.close?.();
    await r.close();
  }
});

Deno.test("outbound keep-alive: a request whose response had started is never sent twice", async () => {
  const r = await rawReceiver("answer-then-reset");
  const http = client();
  try {
    const url = `http://127.0.0.1:${r.port}/`;
    await http.request(url, { method: "GET" });
    const err = await http.request(url, { method: "GET" }).catch((e) => e);
    assert.ok(err instanceof OutboundError && err.reason === "network", String(err));
    assert.equal(r.requests(), 2);
    assert.equal(r.connections(), 1);
  } finally {
    http.close?.();
    await r.close();
  }
});

Deno.test("outbound keep-alive: close() closes the pooled connections", async () => {
  const r = await receiver();
  const http = client();
  try {
    await http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" });
    assert.equal(r.closed(), 0);
    http.close?.();
    while (r.closed() < 1) await new Promise((res) => setTimeout(res, 5));
    // After close, requests still work, one connection each.
    await http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" });
    await http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" });
    assert.equal(r.connections.length, 3);
  } finally {
    await r.close();
  }
});
