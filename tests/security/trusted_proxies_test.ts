/**
 * Item 7: behind a reverse proxy (DCI_TRUSTED_PROXIES), the client named in Forwarded / X-Forwarded-For is the
 * one the per-IP limits count and the logs show, and X-Forwarded-Proto gives the scheme the client signed;
 * the same headers from any other peer are ignored.
 */
import assert from "node:assert/strict";
import { testDeps, withTestDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { startServerProcess } from "../helpers/server.ts";
import { createApp } from "../helpers/app.ts";
import { authenticate } from "../../src/auth/middleware.ts";
import { clientAddress, parseTrustedProxies } from "../../src/net/client_address.ts";
import { contentDigest, signHttpRequest } from "../../src/auth/http_signature.ts";
import { loadConfig } from "../../src/config.ts";

const PROXIES = parseTrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);

function who(peer: string, headers: Record<string, string>) {
  return clientAddress(peer, new Headers(headers), PROXIES);
}

Deno.test("clientAddress() walks X-Forwarded-For from the right, skipping trusted proxies only", () => {
  const xff = { "x-forwarded-for": "198.51.100.1, 203.0.113.9, 10.1.2.3" };
  assert.equal(who("127.0.0.1", xff).ip, "203.0.113.9"); // 198.51.100.1 was written by the client: not believed
  assert.equal(who("192.0.2.50", xff).ip, "192.0.2.50"); // an untrusted peer's headers are ignored
  assert.equal(who("127.0.0.1", { "x-forwarded-for": "10.0.0.7, 10.0.0.8" }).ip, "10.0.0.7");
  assert.equal(who("127.0.0.1", { "x-forwarded-for": "203.0.113.9:4711" }).ip, "203.0.113.9");
  assert.equal(who("127.0.0.1", { "x-forwarded-for": "[2001:db8::1]:443" }).ip, "2001:db8::1");
  assert.equal(who("127.0.0.1", { "x-forwarded-for": "2001:DB8:0:0::2" }).ip, "2001:db8::2");
  // A hop that is not an address ends the walk at the proxy that wrote it.
  assert.equal(who("127.0.0.1", { "x-forwarded-for": "203.0.113.9, garbage, 10.0.0.5" }).ip, "10.0.0.5");
  assert.equal(who("127.0.0.1", {}).ip, "127.0.0.1");
  assert.equal(who("::ffff:127.0.0.1", xff).ip, "203.0.113.9"); // a dual-stack socket's view of 127.0.0.1
  assert.equal(who("fd00::5", xff).ip, "203.0.113.9");
  // A bracketed IPv4-mapped hop is its IPv4 address: a trusted proxy written so is skipped as a bare one is.
  assert.equal(
    who("127.0.0.1", { "x-forwarded-for": "203.0.113.9, [::ffff:10.0.0.2]:80" }).ip,
    "203.0.113.9",
  );
  assert.equal(who("127.0.0.1", { "x-forwarded-for": "[::ffff:203.0.113.9]" }).ip, "203.0.113.9");
});

Deno.test("clientAddress() reads RFC 7239 Forwarded with quoted IPv6, ports and proto; X-Forwarded-For wins", () => {
  const fwd = {
    forwarded: 'for=198.51.100.1;proto=http, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2',
  };
  assert.deepEqual(who("127.0.0.1", fwd), { ip: "2001:db8:cafe::17", proto: "https" });
  assert.deepEqual(who("192.0.2.50", fwd), { ip: "192.0.2.50" });
  assert.equal(who("127.0.0.1", { ...fwd, "x-forwarded-for": "203.0.113.4" }).ip, "203.0.113.4");
  assert.deepEqual(who("127.0.0.1", { "x-forwarded-proto": "https" }), { ip: "127.0.0.1", proto: "https" });
  assert.deepEqual(who("192.0.2.50", { "x-forwarded-proto": "https" }), { ip: "192.0.2.50" });
  assert.equal(who("127.0.0.1", { "x-forwarded-proto": "gopher" }).proto, undefined);
});

Deno.test("DCI_TRUSTED_PROXIES refuses an entry that is not an address or CIDR, naming the variable", () => {
  assert.throws(
    () => loadConfig({}, { DCI_TRUSTED_PROXIES: "10.0.0.0/8, proxy.local" }),
    /DCI_TRUSTED_PROXIES/,
  );
  assert.deepEqual(loadConfig({}, { DCI_TRUSTED_PROXIES: "10.0.0.0/8, ::1" }).trustedProxies, [
    "10.0.0.0/8",
    "::1",
  ]);
});

function badToken(app: ReturnType<typeof createApp>, forwardedFor: string) {
  return app.request("/oauth2/client/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwardedFor },
    body: "grant_type=client_credentials&client_id=dcic_nobody000000&client_secret=dcis_x",
  }, { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 } });
}

Deno.test("token endpoint behind a trusted proxy: one client's bad requests do not lock out the others", async () => {
  await withTestDeps({ tokenIpLimitPerMinute: "3", trustedProxies: "127.0.0.1" }, async (deps) => {
    const app = createApp(deps);
    for (let i = 0; i < 3; i++) assert.equal((await badToken(app, "198.51.100.7")).status, 401);
    assert.equal((await badToken(app, "198.51.100.7")).status, 429);
    assert.equal(
      (await badToken(app, "198.51.100.8")).status,
      401,
      "another client behind the proxy was limited",
    );
  });
});

Deno.test("token endpoint without trusted proxies: X-Forwarded-For cannot buy a client fresh limits", async () => {
  await withTestDeps({ tokenIpLimitPerMinute: "3" }, async (deps) => {
    const app = createApp(deps);
    for (let i = 0; i < 3; i++) assert.equal((await badToken(app, `198.51.100.${i}`)).status, 401);
    assert.equal((await badToken(app, "198.51.100.99")).status, 429);
  });
});

Deno.test("authenticate() verifies an RFC 9421 @target-uri with the scheme a trusted proxy reports, and only then", async () => {
  for (const [trusted, expected] of [["127.0.0.1", 200], ["", 401]] as const) {
    const deps = await testDeps({ trustedProxies: trusted });
    try {
      const alice = await createTestSender(deps);
      const app = createApp(deps);
      app.post("/dci_api/v1/test/h", authenticate(deps, "registry.search"), (c) => c.json(c.get("auth")));
      const body = JSON.stringify(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() }));
      const headers = new Headers({
        "content-type": "application/json",
        "content-digest": contentDigest(body),
        "x-forwarded-proto": "https",
        ...alice.headers(),
      });
      // The client signed the public https URL; the proxy forwarded it over plain http.
      const s = signHttpRequest(
        { method: "POST", url: "https://api.example/dci_api/v1/test/h", headers },
        alice.privateKey,
        {
          keyId: "k1",
          components: ["@method", "@target-uri", "content-digest"],
          created: Math.floor(deps.clock.now() / 1000),
        },
      );
      headers.set("signature-input", s.signatureInput);
      headers.set("signature", s.signature);
      const res = await app.request(
        "http://api.example/dci_api/v1/test/h",
        { method: "POST", headers, body },
        {
          remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
        },
      );
      assert.equal(res.status, expected, `trusted "${trusted}": ${await res.text()}`);
    } finally {
      deps.close();
    }
  }
});

Deno.test("serve logs the client a trusted proxy names, and the peer when the proxy is not trusted", async () => {
  for (const [trusted, expected] of [["127.0.0.1/32", "203.0.113.77"], ["", "127.0.0.1"]] as const) {
    const srv = await startServerProcess({ env: { DCI_TRUSTED_PROXIES: trusted } });
    try {
      const res = await fetch(`${srv.url}/healthz`, { headers: { "x-forwarded-for": "203.0.113.77" } });
      await res.body?.cancel();
      const line = await srv.waitForLog((l) => l.msg === "request" && l.path === "/healthz");
      assert.equal(line.client_ip, expected);
    } finally {
      await srv.stop();
    }
  }
});
