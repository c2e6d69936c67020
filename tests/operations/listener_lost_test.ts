/**
 * A listener that closes on its own: Deno closes the listening socket when accept() fails (EMFILE once the
 * process is out of file descriptors). The server logs it, re-binds the port once descriptors are back, and when
 * it cannot (the port was taken meanwhile, or 60 s pass) serve exits 1, in both serving modes.
 */
import assert from "node:assert/strict";
import { type ServerProcess, startServerProcess } from "../helpers/server.ts";
import { REBIND_GIVE_UP_MS, rebindDelayMs } from "../../src/net/kept_listener.ts";

/** Low enough that a few hundred idle connections use every descriptor; high enough for the start. */
const NOFILE = 256;
const LOST = "listener closed unexpectedly; re-binding it";
const MODES = [{ name: "in HTTP isolates", isolates: "1" }, { name: "in the main isolate", isolates: "0" }];

/** Opens a connection that sends half a request head and then waits: it holds one server descriptor. */
async function idleConnection(port: number): Promise<Deno.Conn | undefined> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Wait: "));
    return conn;
  } catch {
    return undefined; // refused or reset: the listener is closed
  }
}

/** Holds idle connections until the server logs that its listener closed; returns them to close. */
async function exhaustDescriptors(server: ServerProcess): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  const lost = () => server.logs.some((l) => l.msg === LOST);
  for (let i = 0; i < NOFILE * 2 && !lost(); i++) {
    const conn = await idleConnection(server.port);
    if (conn) conns.push(conn);
    else await new Promise((r) => setTimeout(r, 20)); // let the log line through
  }
  await server.waitForLog((l) => l.msg === LOST, 10_000);
  return conns;
}

/** /healthz's status, or 0 when no answer came (refused, reset, timed out). */
async function healthz(url: string): Promise<number> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const res = await fetch(`${url}/healthz`, { client, signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  } finally {
    client.close();
  }
}

/** Polls /healthz until it answers 200; how long that took (ms), or throws after `ms`. */
async function answersWithin(url: string, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await healthz(url) === 200) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`/healthz did not answer within ${ms} ms`);
}

for (const mode of MODES) {
  Deno.test(`serve ${mode.name} re-binds a listener that running out of descriptors closed, and logs why`, async () => {
    const server = await startServerProcess({ nofile: NOFILE, env: { DCI_HTTP_ISOLATES: mode.isolates } });
    try {
      const conns = await exhaustDescriptors(server);
      for (const conn of conns) conn.close();
      const took = await answersWithin(server.url, 10_000);
      assert.ok(took < 10_000);
      const line = server.logs.find((l) => l.msg === LOST)!;
      assert.equal(line.level, "error");
      assert.equal(line.port, server.port);
      assert.match(JSON.stringify(line.err), /Too many open files/);
      assert.ok(server.logs.some((l) => l.msg === "listening again"), "no 'listening again' line");
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });

  Deno.test(`serve ${mode.name} exits 1 when its closed listener cannot be re-bound`, async () => {
    const server = await startServerProcess({ nofile: NOFILE, env: { DCI_HTTP_ISOLATES: mode.isolates } });
    let squatter: Deno.Listener | undefined;
    const conns: Deno.Conn[] = [];
    try {
      conns.push(...await exhaustDescriptors(server));
      // Between two re-binds the port is free: take it. A re-bound listener closes again on the next connection
      // it cannot accept, so keep connecting until the port is ours.
      const deadline = Date.now() + 30_000;
      while (!squatter && Date.now() < deadline) {
        try {
          squatter = Deno.listen({ hostname: "127.0.0.1", port: server.port });
        } catch {
          const conn = await idleConnection(server.port);
          if (conn) conns.push(conn);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      assert.ok(squatter, "the port never came free between two re-binds");
      for (const conn of conns.splice(0)) conn.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        server.exited,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => reject(new Error("serve did not exit within 20 s")), 20_000)
        ),
      ]).finally(() => clearTimeout(timer));
      assert.equal(status.code, 1, server.stderr());
      const given = mode.isolates === "0"
        ? server.logs.find((l) => l.msg === "HTTP listener lost")
        : server.logs.find((l) => l.msg === "HTTP isolate failed");
      assert.ok(given, "no line saying the listener is lost for good");
      assert.match(
        JSON.stringify(given),
        /could not be re-bound: port \d+ on 127\.0\.0\.1 is already in use/,
      );
    } finally {
      for (const conn of conns) conn.close();
      squatter?.close();
      await server.stop();
    }
  });
}

Deno.test("rebindDelayMs() doubles from 100 ms up to 5 s, and gives up once the outage is 60 s old", () => {
  const waits = Array.from({ length: 9 }, (_, attempt) => rebindDelayMs(attempt, 0));
  assert.deepEqual(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  assert.equal(rebindDelayMs(3, REBIND_GIVE_UP_MS - 1), 800);
  assert.equal(rebindDelayMs(3, REBIND_GIVE_UP_MS), null);
});

Deno.test("the /metrics listener (DCI_METRICS_LISTEN) closed by running out of descriptors is re-bound too", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const metricsPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const server = await startServerProcess({
    nofile: NOFILE,
    env: { DCI_HTTP_ISOLATES: "0", DCI_METRICS_LISTEN: `127.0.0.1:${metricsPort}` },
  });
  const conns: Deno.Conn[] = [];
  try {
    conns.push(...await exhaustDescriptors(server));
    // Out of descriptors, the metrics listener's next accept fails too: connect until it closes.
    const closed = () =>
      server.logs.some((l) => l.msg === "metrics listener closed unexpectedly; re-binding it");
    for (let i = 0; i < NOFILE && !closed(); i++) {
      const conn = await idleConnection(metricsPort);
      if (conn) conns.push(conn);
      else await new Promise((r) => setTimeout(r, 20));
    }
    await server.waitForLog((l) => l.msg === "metrics listener closed unexpectedly; re-binding it", 10_000);
    for (const conn of conns.splice(0)) conn.close();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (status === 0 && Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
          signal: AbortSignal.timeout(2_000),
        });
        await res.body?.cancel();
        status = res.status;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(status === 200 || status === 401, `/metrics did not answer again (${status})`);
  } finally {
    for (const conn of conns) conn.close();
    assert.equal(await server.stop(), 0, server.stderr());
  }
});
