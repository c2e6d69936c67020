/**
 * A host with several addresses: a connection that cannot be made to one (refused, or its attempts dropped) moves
 * on to the next, the address that answered is tried first next time, and a request that reached a receiver is
 * never sent to another address. Every address is a loopback one (127.0.0.0/8): nothing leaves the machine.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { attemptMs, createOutboundClient, OutboundError } from "../../src/net/outbound.ts";

/** A receiver on `hostname` counting its requests; `port` 0 takes a free one. */
function receiver(
  hostname: string,
  port = 0,
  handler: () => Response | Promise<Response> = () => new Response("ok"),
) {
  let hits = 0;
  const server = Deno.serve({ hostname, port, onListen: () => {} }, () => {
    hits++;
    return handler();
  });
  return { port: server.addr.port, hits: () => hits, close: () => server.shutdown() };
}

/**
 * A socket listening on `address`:`port` that never accepts, with a backlog of 0 and its one queued connection
 * made: the kernel drops every further connection attempt (SYN), so a connect to it hangs, as to an address whose
 * path is broken. Made through libc (Deno.listen accepts on its own).
 */
async function droppingListener(address: string, port: number) {
  const libc = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    listen: { parameters: ["i32", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const fd = libc.symbols.socket(2, 1, 0); // AF_INET, SOCK_STREAM
  const closeAll = () => {
    if (fd >= 0) libc.symbols.close(fd);
    libc.close();
  };
  try {
    const addr = new Uint8Array(16); // struct sockaddr_in
    addr[0] = 2;
    addr[2] = port >> 8;
    addr[3] = port & 0xff;
    addr.set(address.split(".").map(Number), 4);
    assert.ok(fd >= 0, "socket()");
    assert.equal(libc.symbols.bind(fd, addr, 16), 0, `bind ${address}:${port}`);
    assert.equal(libc.symbols.listen(fd, 0), 0);
    const queued = await Deno.connect({ hostname: address, port });
    return {
      close() {
        queued.close();
        closeAll();
      },
    };
  } catch (err) {
    closeAll();
    throw err;
  }
}

/**
 * A client allowlisting loopback, resolving multi.example.org to `addresses` (as they are at each lookup: a test
 * may reorder them), and recording each connection attempt.
 */
function client(addresses: string[], timeoutMs = 2_000) {
  const tried: string[] = [];
  const http = createOutboundClient(
    testConfig({ outboundAllow: "127.0.0.0/8", outboundTimeoutMs: String(timeoutMs) }),
    {
      resolver: (name) =>
        name === "multi.example.org" ? Promise.resolve([...addresses]) : Promise.reject(new Error(name)),
      beforeConnect: (_url, address) => tried.push(address),
    },
  );
  return { http, tried };
}
Deno.test("outbound addresses: a refused address moves on to the next, and goes last from then on", async () => {
  const r = receiver("127.0.0.1");
  try {
    // Nothing listens on 127.0.0.2 at that port: refused at once.
    const addresses = ["127.0.0.2", "127.0.0.1"];
    const { http, tried } = client(addresses);
    const post = () => http.request(`http://multi.example.org:${r.port}/cb`, { method: "POST", body: "{}" });
    assert.equal((await post()).status, 200);
    assert.deepEqual(tried, ["127.0.0.2", "127.0.0.1"]);
    assert.equal(r.hits(), 1);
    tried.length = 0;
    await post();
    assert.deepEqual(tried, ["127.0.0.1"], "the address that failed goes last");
    // The resolver's order turns (round-robin DNS): the failed address stays last either way.
    addresses.reverse();
    await post();
    addresses.reverse();
    await post();
    assert.deepEqual(tried, ["127.0.0.1", "127.0.0.1", "127.0.0.1"]);
    assert.equal(r.hits(), 4);
    http.close?.();
  } finally {
    await r.close();
  }
});

Deno.test({
  name:
    "outbound addresses: an address that drops connection attempts gets a share of the time, then the next",
  // The dropping listener is made through glibc with Linux's sockaddr_in and backlog behaviour.
  ignore: Deno.build.os !== "linux",
}, async () => {
  const r = receiver("127.0.0.1");
  const dropping = await droppingListener("127.0.0.3", r.port);
  try {
    const { http, tried } = client(["127.0.0.3", "127.0.0.1"], 2_000);
    const res = await http.request(`http://multi.example.org:${r.port}/cb`, { method: "POST", body: "{}" });
    assert.equal(res.status, 200);
    assert.deepEqual(tried, ["127.0.0.3", "127.0.0.1"]);
    assert.equal(r.hits(), 1);
    // Alone, the same address holds the request to its deadline.
    const alone = client(["127.0.0.3"], 600);
    const err = await alone.http.request(`http://multi.example.org:${r.port}/cb`, {
      method: "POST",
      body: "{}",
    })
      .then(() => undefined, (e) => e);
    assert.ok(err instanceof OutboundError && err.reason === "timeout", String(err));
    http.close?.();
    alone.http.close?.();
  } finally {
    dropping.close();
    await r.close();
  }
});

Deno.test("outbound addresses: every address refused fails the request once each", async () => {
  const r = receiver("127.0.0.1");
  const port = r.port;
  await r.close();
  const { http, tried } = client(["127.0.0.2", "127.0.0.1", "127.0.0.2"]);
  const err = await http.request(`http://multi.example.org:${port}/`, { method: "GET" }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof OutboundError && err.reason === "network", String(err));
  assert.match(err.message, /ECONNREFUSED/);
  assert.deepEqual(tried, ["127.0.0.2", "127.0.0.1"], "a repeated address is tried once");
});

Deno.test("outbound addresses: a request that reached a receiver is never sent to the next address", async () => {
  // Both addresses serve the port; the first answers too late (the request was sent: it answers only once the
  // test is over), the second must get nothing.
  const over = Promise.withResolvers<void>();
  // A backstop far past the timeout: were it not kept, the late answer comes here and the asserts below fail.
  const backstop = setTimeout(over.resolve, 20_000);
  const late = receiver("127.0.0.2", 0, () => over.promise.then(() => new Response()));
  const other = receiver("127.0.0.1", late.port);
  try {
    // Time enough for the connection and the request on a loaded machine (each address's attempt gets part).
    const { http, tried } = client(["127.0.0.2", "127.0.0.1"], 3000);
    const err = await http.request(`http://multi.example.org:${late.port}/cb`, { method: "POST", body: "{}" })
      .then(() => undefined, (e) => e);
    assert.ok(err instanceof OutboundError && err.reason === "timeout", String(err));
    assert.deepEqual(tried, ["127.0.0.2"]);
    assert.equal(late.hits(), 1);
    assert.equal(other.hits(), 0);
    http.close?.();
  } finally {
    clearTimeout(backstop);
    over.resolve();
    await late.close();
    await other.close();
  }
});

Deno.test("outbound addresses: a connection reset after it was made is a failure, never sent to the next address", async () => {
  // The first address accepts, reads the request, and closes; the second serves the same port and must get nothing.
  const first = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = first.addr.port;
  const other = receiver("127.0.0.1", port);
  const closing = (async () => {
    for await (const conn of first) {
      await conn.read(new Uint8Array(4096)).catch(() => null);
      conn.close();
    }
  })();
  try {
    const { http, tried } = client(["127.0.0.2", "127.0.0.1"]);
    const err = await http.request(`http://multi.example.org:${port}/cb`, { method: "POST", body: "{}" })
      .then(() => undefined, (e) => e);
    assert.ok(err instanceof OutboundError && err.reason === "network", String(err));
    assert.deepEqual(tried, ["127.0.0.2"]);
    assert.equal(other.hits(), 0);
    http.close?.();
  } finally {
    first.close();
    await closing.catch(() => {});
    await other.close();
  }
});

Deno.test("outbound addresses: a connection attempt's share is a quarter of the time, between 250 ms and 2 s", () => {
  assert.equal(attemptMs(10_000), 2_000);
  assert.equal(attemptMs(2_000), 500);
  assert.equal(attemptMs(400), 250);
});
