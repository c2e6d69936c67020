/**
 * Item 9: the SSRF guard. One table from the IANA special-purpose registries (plus the IPv4-translated,
 * 3fff::/20 and 5f00::/16 ranges), refusals that never say what a name resolved to, and DCI_OUTBOUND_ALLOW
 * entries scoped to a port and to a sender. Every probe here calls the guard without connecting (vetUrl,
 * check) or connects to loopback only, and names resolve offline.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig, testConfig } from "../../src/config.ts";
import { parseAllowlist } from "../../src/net/allowlist.ts";
import { GuardError, vetUrl } from "../../src/net/guard.ts";
import { type Cidr, parseCidr } from "../../src/net/ip.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import { SPECIAL_PURPOSE } from "../../src/net/special_purpose.ts";
import { offlineResolver } from "../helpers/no_egress.ts";
import { harness, searchMessage } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";

// The IANA registries as published (iana-ipv4-special-registry, iana-ipv6-special-registry), address blocks only.
const IANA_IPV4 = [
  "0.0.0.0/8",
  "0.0.0.0/32",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.0.0/29",
  "192.0.0.8/32",
  "192.0.0.9/32",
  "192.0.0.10/32",
  "192.0.0.170/32",
  "192.0.0.171/32",
  "192.0.2.0/24",
  "192.31.196.0/24",
  "192.52.193.0/24",
  "192.88.99.0/24",
  "192.88.99.2/32",
  "192.168.0.0/16",
  "192.175.48.0/24",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "240.0.0.0/4",
  "255.255.255.255/32",
];
const IANA_IPV6 = [
  "::1/128",
  "::/128",
  "::ffff:0:0/96",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "100:0:0:1::/64",
  "2001::/23",
  "2001::/32",
  "2001:1::1/128",
  "2001:1::2/128",
  "2001:1::3/128",
  "2001:2::/48",
  "2001:3::/32",
  "2001:4:112::/48",
  "2001:10::/28",
  "2001:20::/28",
  "2001:30::/28",
  "2001:db8::/32",
  "2002::/16",
  "2620:4f:8000::/48",
  "3fff::/20",
  "5f00::/16",
  "fc00::/7",
  "fe80::/10",
];

const noAllow = parseAllowlist([]);
const vet = (url: string, names: Record<string, string[]> = {}) =>
  vetUrl(url, { allow: noAllow, resolve: offlineResolver(names) });

async function refusal(p: Promise<unknown>): Promise<GuardError | OutboundError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof GuardError || err instanceof OutboundError, `expected a refusal, got ${err}`);
  return err;
}

/** First and last address of a range, as URL hosts. */
function edges(c: Cidr): string[] {
  const max = c.family === 4 ? 32 : 128;
  const last = c.base | ((1n << BigInt(max - c.bits)) - 1n);
  return [c.base, last].map((v) => {
    if (c.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
    const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
    return `[${groups.join(":")}]`;
  });
}

Deno.test("SPECIAL_PURPOSE holds every entry of both IANA special-purpose registries, each with its RFC", () => {
  const table = (source: string) => SPECIAL_PURPOSE.filter((r) => r.source === source).map((r) => r.cidr);
  assert.deepEqual(table("iana-ipv4"), IANA_IPV4);
  assert.deepEqual(table("iana-ipv6"), IANA_IPV6);
  for (const r of SPECIAL_PURPOSE) {
    assert.ok(parseCidr(r.cidr), `${r.cidr} parses`);
    assert.match(r.rfc, /^RFC \d+/, `${r.cidr} names its RFC`);
    assert.ok(r.name && r.why, `${r.cidr} says what it is and why it is refused`);
  }
});

Deno.test("vetUrl() refuses the first and last address of every special-purpose range, as a literal and via a name", async () => {
  for (const r of SPECIAL_PURPOSE) {
    for (const host of edges(parseCidr(r.cidr)!)) {
      const literal = await refusal(vet(`https://${host}/cb`));
      assert.equal(literal.reason, "blocked", `${host} (${r.cidr}): ${literal.message}`);
      const named = await refusal(vet("https://cb.partner.example/", {
        "cb.partner.example": ["93.184.216.34", host.replace(/^\[|\]$/g, "")],
      }));
      assert.equal(named.reason, "blocked", `a name resolving to ${host} (${r.cidr})`);
    }
  }
  // A public address passes.
  await vet("https://93.184.216.34/cb");
  await vet("https://[2606:2800:220:1::1]/cb");
});

Deno.test("vetUrl() refuses IPv4-translated ::ffff:0:0:0/96, 3fff::/20 and 5f00::/16", async () => {
  for (
    const host of [
      "[::ffff:0:7f00:1]",
      "[::ffff:0:a00:1]",
      "[::ffff:0:808:808]",
      "[3fff::1]",
      "[3fff:fff::1]",
      "[5f00::1]",
    ]
  ) {
    const err = await refusal(vet(`https://${host}/`));
    assert.equal(err.reason, "blocked", host);
  }
  await vet("https://[3fff:1000::1]/"); // just past 3fff::/20
});

Deno.test("a refusal never says what a name resolved to (guard, client errors and the accept answer)", async () => {
  const names = {
    "a.partner.example": ["10.0.0.5"],
    "b.partner.example": ["fd00::5"],
    "c.partner.example": ["169.254.169.254"],
    "d.partner.example": ["::ffff:0:a00:5"],
  };
  for (const name of Object.keys(names)) {
    const err = await refusal(vet(`https://${name}/cb`, names));
    assert.equal(err.message, `host "${name}" resolves to an address that is not publicly routable`);
  }
  // A connection error on an allowlisted name names neither the address nor the port it went to.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const http = createOutboundClient(testConfig({ outboundAllow: "closed.partner.test" }), {
    resolver: offlineResolver({ "closed.partner.test": ["127.0.0.1"] }),
  });
  const network = await refusal(http.request(`http://closed.partner.test:${port}/`, { method: "GET" }));
  assert.equal(network.reason, "network");
  assert.doesNotMatch(network.message, /127\.0\.0\.1/);
  // What the sender sees when its callback URL is refused at accept.
  const h = await harness();
  try {
    h.deps.http = createOutboundClient(h.deps.config, { resolver: offlineResolver(names) });
    const res = await h.post("/registry/search", searchMessage("ssrf-leak"), {
      senderUri: "https://a.partner.example/cb",
    });
    assert.equal(res.status, 400);
    const text = JSON.stringify(res.body);
    assert.match(text, /err\.sender_uri\.invalid/);
    assert.doesNotMatch(text, /10\.0\.0|Private-Use|RFC 1918/);
  } finally {
    h.close();
  }
});

Deno.test("DCI_OUTBOUND_ALLOW entries with a port allow that port only", async () => {
  let connects = 0;
  const client = (allow: string) =>
    createOutboundClient(testConfig({ outboundAllow: allow }), {
      resolver: offlineResolver({ "partner.test": ["127.0.0.1"], "v6.partner.test": ["::1"] }),
      beforeConnect: () => connects++,
    });
  const cases: Array<[string, string[], string[]]> = [
    ["127.0.0.1:8443", ["http://127.0.0.1:8443/"], ["http://127.0.0.1:8444/", "http://127.0.0.1/"]],
    ["partner.test:8443", ["http://partner.test:8443/"], [
      "http://partner.test:22/",
      "https://partner.test/",
    ]],
    ["127.0.0.0/8:8443", ["http://127.0.0.1:8443/"], ["http://127.0.0.1:6379/"]],
    ["[::1]:8443", ["http://[::1]:8443/", "http://v6.partner.test:8443/"], ["http://[::1]:8080/"]],
    ["[::1/128]:443", ["https://[::1]/"], ["http://[::1]/"]],
    ["partner.test", ["http://partner.test:22/", "https://partner.test/"], ["http://127.0.0.1:22/"]],
  ];
  for (const [allow, ok, refused] of cases) {
    const http = client(allow);
    for (const url of ok) await http.check(url);
    for (const url of refused) {
      const err = await refusal(http.request(url, { method: "GET" }));
      assert.equal(err.reason, "blocked", `${allow}: ${url}`);
    }
  }
  assert.equal(connects, 0, "refused before any socket was opened");
});

Deno.test("DCI_OUTBOUND_ALLOW entries scoped to a sender allow that sender's calls only (check and accept)", async () => {
  const allow = "partner-a=hooks.partner.example:8443,partner-a=10.9.0.0/16:443";
  const http = createOutboundClient(testConfig({ outboundAllow: allow }), {
    resolver: offlineResolver({ "hooks.partner.example": ["10.0.0.5"] }),
  });
  await http.check("https://hooks.partner.example:8443/cb", { sender: "partner-a" });
  await http.check("https://10.9.1.2/cb", { sender: "partner-a" });
  for (const sender of ["partner-b", undefined]) {
    const err = await refusal(http.check("https://hooks.partner.example:8443/cb", { sender }));
    assert.equal(err.reason, "blocked");
  }
  assert.equal(
    (await refusal(http.check("https://hooks.partner.example/", { sender: "partner-a" }))).reason,
    "blocked",
  );
  // The accept path vets the callback URL for the sender that sent the request.
  const h = await harness({ outboundAllow: allow });
  try {
    h.deps.http = createOutboundClient(h.deps.config, {
      resolver: offlineResolver({ "hooks.partner.example": ["10.0.0.5"] }),
    });
    const a = await createTestSender(h.deps, { senderId: "partner-a" });
    const b = await createTestSender(h.deps, { senderId: "partner-b" });
    const url = "https://hooks.partner.example:8443/cb";
    assert.equal(
      (await h.post("/registry/search", searchMessage("a-1"), { sender: a, senderUri: url })).status,
      202,
    );
    assert.equal(
      (await h.post("/registry/search", searchMessage("b-1"), { sender: b, senderUri: url })).status,
      400,
    );
  } finally {
    h.close();
  }
});

Deno.test("loadConfig() refuses malformed DCI_OUTBOUND_ALLOW entries, naming the entry", () => {
  for (const bad of ["10.0.0.0/", "host:99999", "[::1", "[::1]8443", "bad sender!=x.example", "x=", "a/b"]) {
    assert.throws(
      () => loadConfig({}, { DCI_OUTBOUND_ALLOW: bad }),
      (e: unknown) => e instanceof ConfigError && e.message.includes("DCI_OUTBOUND_ALLOW"),
      bad,
    );
  }
  const ok = loadConfig({}, {
    DCI_OUTBOUND_ALLOW: "a.example, b.example:8443, s-1=10.0.0.0/8:443, [fd00::1]:80, ::1",
  });
  assert.equal(ok.outboundAllow.length, 5);
});
