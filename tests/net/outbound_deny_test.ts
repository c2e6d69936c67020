/**
 * DCI_OUTBOUND_DENY (src/net/denylist.ts): destinations the operator denies are refused before any connection,
 * by the name the URL gives (a host, or a domain with every name under it) and by every address a name resolves
 * to (an IPv4-mapped IPv6 address as its IPv4 address too), allowlisted or not; a refusal never says what a name
 * resolved to. Names resolve offline here (check() never connects); the one real connection attempt is to a
 * loopback receiver, which must see nothing.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig, testConfig } from "../../src/config.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";

/** Public addresses (never contacted): what the offline resolver answers for each test name. */
const DNS: Record<string, string[]> = {
  "app.corp.example": ["151.101.1.1"],
  "corp.example": ["151.101.1.1"],
  "notcorp.example": ["151.101.1.1"],
  "api.partner.example": ["151.101.1.2"],
  "www.partner.example": ["151.101.1.2"],
  "mixed.example.org": ["151.101.1.3", "93.184.216.34"],
  "v6.example.org": ["2a00:1450:4001::1"],
  "mapped.example.org": ["::ffff:93.184.216.34"],
};

const resolver = (name: string) =>
  DNS[name]
    ? Promise.resolve(DNS[name])
    : Promise.reject(Object.assign(new Error("nx"), { code: "ENOTFOUND" }));

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OutboundError, `expected a refusal, got ${err}`);
  assert.equal(err.reason, "blocked", err.message);
  return err.message;
}

Deno.test("outbound deny list: names, domains, addresses and ranges are refused; others pass", async () => {
  const http = createOutboundClient(
    testConfig({
      outboundDeny: ".corp.example, API.Partner.Example., 93.184.216.0/24, [2a00:1450::/32]",
      // Deny wins over allow: the operator's allowlist names a host its deny list covers.
      outboundAllow: "mapped.example.org",
    }),
    { resolver },
  );
  for (const host of ["app.corp.example", "corp.example", "api.partner.example"]) {
    assert.match(
      await refusal(http.check(`https://${host}/cb`)),
      /denied by the operator \(DCI_OUTBOUND_DENY\)/,
    );
  }
  for (const host of ["mixed.example.org", "v6.example.org", "mapped.example.org"]) {
    const message = await refusal(http.check(`https://${host}/cb`));
    assert.match(message, /resolves to an address the operator denies/);
    assert.doesNotMatch(message, /93\.184|2a00|ffff/, "a refusal never says what the name resolved to");
  }
  assert.match(await refusal(http.check("https://93.184.216.34/cb")), /address 93\.184\.216\.34 is denied/);
  // Trailing dots do not make another name.
  await refusal(http.check("https://app.corp.example../cb"));
  // Neither a look-alike name nor a sibling host of a denied one is caught.
  await http.check("https://notcorp.example/cb");
  await http.check("https://www.partner.example/cb");
});

Deno.test("outbound deny list: a denied IPv4 range is refused through every IPv6 form that embeds it, allowlisted or not", async () => {
  // 203.0.113.5 (0xcb007105) as NAT64 (RFC 6052), 6to4 (RFC 3056), Teredo (RFC 4380: inverted), mapped, compatible.
  const forms = [
    "64:ff9b::cb00:7105",
    "2002:cb00:7105::1",
    "2001:0:4136:e378:8000:63bf:34ff:8efa",
    "::ffff:cb00:7105",
    "::cb00:7105",
  ];
  const allowed = "64:ff9b::/96, 2002::/16, 2001::/32, ::ffff:0:0/96, ::/96";
  const open = createOutboundClient(testConfig({ outboundAllow: allowed }), { resolver });
  const denied = createOutboundClient(
    testConfig({ outboundAllow: allowed, outboundDeny: "203.0.113.0/24" }),
    {
      resolver,
    },
  );
  for (const form of forms) {
    await open.check(`http://[${form}]/cb`);
    assert.match(await refusal(denied.check(`http://[${form}]/cb`)), /denied by the operator/, form);
  }
  // Another IPv4 address in the same forms passes.
  await denied.check("http://[64:ff9b::cb00:7205]/cb");
});

Deno.test("outbound deny list: an allowlisted loopback receiver that is also denied gets no connection", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    hits++;
    return new Response("ok");
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/cb`;
    const allowed = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
    assert.equal((await allowed.request(url, { method: "POST", body: "{}" })).status, 200);
    const denied = createOutboundClient(
      testConfig({ outboundAllow: "127.0.0.1", outboundDeny: "127.0.0.0/8" }),
    );
    await refusal(denied.request(url, { method: "POST", body: "{}" }));
    assert.equal(hits, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("outbound deny list: a malformed entry is refused at start, naming it", () => {
  for (
    const entry of [
      "bad host!",
      "10.0.0.0/33",
      "http://x.example",
      "host:443",
      "..corp",
      "10.1",
      "0x7f000001",
    ]
  ) {
    assert.throws(
      () => loadConfig({}, { DCI_OUTBOUND_DENY: `ok.example, ${entry}` }),
      (e: Error) => e instanceof ConfigError && e.message.includes(`DCI_OUTBOUND_DENY entry "${entry}"`),
      entry,
    );
  }
  assert.deepEqual(loadConfig({}, { DCI_OUTBOUND_DENY: " .corp.example , 10.0.0.0/8 ," }).outboundDeny, [
    ".corp.example",
    "10.0.0.0/8",
  ]);
});
