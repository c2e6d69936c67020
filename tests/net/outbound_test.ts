import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import { offlineResolver } from "../helpers/no_egress.ts";

/** A loopback receiver counting every request it gets. */
function receiver(handler: (req: Request) => Response | Promise<Response> = () => new Response("ok")) {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    hits++;
    return handler(req);
  });
  return { port: server.addr.port, hits: () => hits, close: () => server.shutdown() };
}

async function refused(p: Promise<unknown>, reason: string): Promise<OutboundError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OutboundError, `expected OutboundError, got ${err}`);
  assert.equal(err.reason, reason, err.message);
  return err;
}

Deno.test("outbound: loopback tricks are refused without any connection", async () => {
  const r = receiver();
  // Names resolve offline (to loopback, should a name rule ever let one through); no socket may be opened.
  let connects = 0;
  const http = createOutboundClient(testConfig(), {
    resolver: offlineResolver({ "localhost": ["127.0.0.1"], "foo.localhost": ["127.0.0.1"] }),
    beforeConnect: () => connects++,
  });
  try {
    for (
      const host of [
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "127.0.0.1",
        "localhost",
        "foo.localhost",
      ]
    ) {
      for (const scheme of ["http", "https"]) {
        const url = `${scheme}://${host}:${r.port}/cb`;
        await refused(http.request(url, { method: "POST", body: "{}" }), "blocked");
        await refused(http.check(url), "blocked");
      }
    }
    assert.equal(r.hits(), 0);
    assert.equal(connects, 0);
  } finally {
    await r.close();
  }
});

Deno.test("outbound: private, link-local, CGNAT, metadata and odd hosts are refused", async () => {
  // check() never connects; names resolve offline, so nothing here leaves the process.
  const http = createOutboundClient(testConfig(), { resolver: offlineResolver() });
  const blocked = [
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/",
    "https://224.0.0.1/",
    "https://[fe80::1]/",
    "https://[fd00::1]/",
    "https://[64:ff9b::a00:1]/",
    "https://metadata.google.internal/",
    "https://metadata/",
    "https://intranet/",
    "https://printer.local/",
  ];
  for (const url of blocked) await refused(http.check(url), "blocked");
  await refused(http.check("ftp://example.org/"), "invalid_url");
  await refused(http.check("not a url"), "invalid_url");
  await refused(http.check("https://user:pw@example.org/"), "invalid_url");
});

Deno.test("outbound: every resolved address is vetted (one private address refuses the host)", async () => {
  const resolver = (name: string) =>
    Promise.resolve(name === "mixed.example.org" ? ["93.184.216.34", "10.0.0.5"] : ["93.184.216.34"]);
  const http = createOutboundClient(testConfig(), { resolver });
  const err = await refused(http.check("https://mixed.example.org/"), "blocked");
  assert.doesNotMatch(err.message, /10\.0\.0\.5/, "a refusal never says what the name resolved to");
  await http.check("https://public.example.org/");
  await refused(http.check("http://public.example.org/"), "blocked"); // https only
  const rebinding = createOutboundClient(testConfig(), {
    resolver: () => Promise.resolve(["::ffff:7f00:1"]),
  });
  await refused(rebinding.check("https://rebind.example.org/"), "blocked");
  const dead = createOutboundClient(testConfig(), { resolver: offlineResolver() });
  await refused(dead.check("https://nowhere.example.org/"), "dns");
});

Deno.test("outbound: an allowlisted loopback receiver is reached over http and the body is read", async () => {
  const r = receiver(async (req) =>
    Response.json({ method: req.method, body: await req.text(), h: req.headers.get("x-test") })
  );
  try {
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
    const res = await http.request(`http://127.0.0.1:${r.port}/cb`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-test": "yes" },
      body: '{"a":"é"}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text()), { method: "POST", body: '{"a":"é"}', h: "yes" });
    const cidr = createOutboundClient(testConfig({ outboundAllow: "127.0.0.0/8" }));
    assert.equal((await cidr.request(`http://127.0.0.1:${r.port}/`, { method: "GET" })).status, 200);
    // An allowlisted name resolving to loopback is reached (pinned to the vetted address).
    const named = createOutboundClient(testConfig({ outboundAllow: "receiver.test" }), {
      resolver: () => Promise.resolve(["127.0.0.1"]),
    });
    assert.equal((await named.request(`http://receiver.test:${r.port}/`, { method: "GET" })).status, 200);
    assert.equal(r.hits(), 3);
  } finally {
    await r.close();
  }
});

Deno.test("outbound: the connection goes to the vetted address, not a re-resolution", async () => {
  const r = receiver();
  try {
    // The resolver answers once with loopback (allowlisted); the connection must use exactly that address.
    let calls = 0;
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }), {
      resolver: () => {
        calls++;
        return Promise.resolve(["127.0.0.1"]);
      },
    });
    const res = await http.request(`http://pinned.example.org:${r.port}/`, { method: "GET" });
    assert.equal(res.status, 200);
    assert.equal(calls, 1);
  } finally {
    await r.close();
  }
});

Deno.test("outbound: redirects are refused, not followed", async () => {
  let followed = false;
  const r = receiver((req) => {
    if (new URL(req.url).pathname === "/next") followed = true;
    return new Response(null, { status: 302, headers: { location: "/next" } });
  });
  try {
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
    await refused(http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" }), "redirect");
    assert.equal(followed, false);
  } finally {
    await r.close();
  }
});

Deno.test("outbound: a slow receiver times out", async () => {
  let release!: () => void;
  const gate = new Promise<void>((res) => release = res);
  const r = receiver(async () => {
    await gate;
    return new Response("late");
  });
  try {
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
    const t0 = performance.now();
    await refused(http.request(`http://127.0.0.1:${r.port}/`, { method: "GET", timeoutMs: 150 }), "timeout");
    assert.ok(performance.now() - t0 < 2000);
  } finally {
    release();
    await r.close();
  }
});

Deno.test("outbound: responses over the size cap are refused (declared and streamed)", async () => {
  const big = "x".repeat(5000);
  const r = receiver((req) => {
    if (new URL(req.url).pathname === "/stream") {
      const body = new ReadableStream({
        start(ctl) {
          for (let i = 0; i < 5; i++) ctl.enqueue(new TextEncoder().encode(big));
          ctl.close();
        },
      });
      return new Response(body);
    }
    return new Response(big);
  });
  try {
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1", outboundMaxBytes: "2048" }));
    await refused(http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" }), "too_large");
    await refused(http.request(`http://127.0.0.1:${r.port}/stream`, { method: "GET" }), "too_large");
    const ok = await http.request(`http://127.0.0.1:${r.port}/`, { method: "GET", maxBytes: 10_000 });
    assert.equal(ok.body.byteLength, 5000);
  } finally {
    await r.close();
  }
});

Deno.test("outbound: at most outboundConcurrency requests are in flight", async () => {
  let inFlight = 0;
  let peak = 0;
  const r = receiver(async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((res) => setTimeout(res, 30));
    inFlight--;
    return new Response("ok");
  });
  try {
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1", outboundConcurrency: "2" }));
    const all = Array.from(
      { length: 6 },
      () => http.request(`http://127.0.0.1:${r.port}/`, { method: "GET" }),
    );
    const results = await Promise.all(all);
    assert.ok(results.every((x) => x.status === 200));
    assert.equal(peak, 2);
  } finally {
    await r.close();
  }
});

Deno.test("outbound: an unreachable allowlisted port is a network error", async () => {
  const r = receiver();
  const port = r.port;
  await r.close();
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
  await refused(http.request(`http://127.0.0.1:${port}/`, { method: "GET" }), "network");
});
