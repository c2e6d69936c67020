/**
 * What held (issue 11): every SSRF URL form of ssrf_forms.ts is refused at each place a sender-supplied URL
 * enters the server, with zero connections: header.sender_uri and the sender's registered callback URL at
 * accept, the notification URL at subscribe, both again at delivery (an operator may change the URL after
 * accept), and the JWKS URL (admin fetch and the scheduled refresh). The outbound client resolves names offline
 * and counts every socket it would open (the count hook throws, so even a broken guard sends nothing).
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { offlineResolver } from "../helpers/no_egress.ts";
import { input, person, putPerson, subItem } from "../subscriptions/helpers.ts";
import { subscribeMessage } from "../subscriptions/e2e_support.ts";
import { adminCaller } from "./held_support.ts";
import { NAMES, ssrfUrls } from "./ssrf_forms.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import { testConfig } from "../../src/config.ts";
import { callbackBase } from "../../src/dci/callback_url.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { refreshDueJwks } from "../../src/senders/jwks_fetch.ts";
import { listSenderKeys } from "../../src/senders/keys.ts";

/** A public literal the guard passes without DNS; no test connects to it (the count hook throws first). */
const GOOD_BASE = "https://198.41.0.4/hooks";
const REFUSED = /^(blocked|invalid_url): /;

/**
 * Runs `fn` with a harness whose outbound client is the real guarded one, with offline names and a hook
 * counting sockets; then asserts that no socket was opened, and closes the harness.
 */
async function withGuarded(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await harness({
    rateLimitMinute: "1000000",
    rateLimitDay: "100000000",
    subscriptionFailureLimit: "1000",
  });
  const sockets: string[] = [];
  h.deps.http = createOutboundClient(h.deps.config, {
    resolver: offlineResolver(NAMES),
    beforeConnect: (url, address) => {
      sockets.push(`${url} -> ${address}`);
      throw new Error(`a connection to ${address} was attempted`);
    },
  });
  try {
    await fn(h);
    assert.deepEqual(sockets, [], "no connection was attempted");
  } finally {
    h.close();
  }
}

async function count(h: Harness, table: string): Promise<number> {
  const [row] = await h.deps.sql(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row.n);
}

/** Sets the sender's callback URL through the admin API; false when the setting itself is refused (400). */
async function setUrl(
  admin: Awaited<ReturnType<typeof adminCaller>>,
  sender: string,
  field: "callback_base_url" | "jwks_url",
  url: string,
): Promise<boolean> {
  const r = await admin("PATCH", `/senders/${sender}`, { [field]: url });
  assert.ok(r.status === 200 || r.status === 400, `${field} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.status === 200;
}

Deno.test("held: every SSRF form is refused at accept, as header.sender_uri and as a registered callback URL, without a connection", () =>
  withGuarded(async (h) => {
    const admin = await adminCaller(h.app, h.deps);
    const bob = await createTestSender(h.deps, { callback_base_url: GOOD_BASE });
    let setting = 0;
    for (const [i, url] of ssrfUrls().entries()) {
      // Each host comes as two URLs in a row: one is tried on search, the other on subscribe (one accept path).
      const [path, message] = i % 2 ? ["subscribe", subOf(`u-${i}`)] : ["search", searchMessage(`s-${i}`)];
      const viaUri = await h.post(`/registry/${path}`, message, { senderUri: url });
      assert.equal(viaUri.status, 400, `${path} sender_uri ${url}: ${JSON.stringify(viaUri.body)}`);
      assert.equal((viaUri.body.message as Json).error.code, "err.sender_uri.invalid", url);
      if (!await setUrl(admin, bob.senderId, "callback_base_url", url)) {
        setting++;
        continue;
      }
      // The registered URL wins over a good sender_uri.
      const viaSender = await h.post(`/registry/${path}`, message, { sender: bob, senderUri: GOOD_BASE });
      assert.equal(viaSender.status, 400, `${path} callback_base_url ${url}`);
      assert.equal((viaSender.body.message as Json).error.code, "err.sender_uri.invalid", url);
    }
    assert.ok(setting > 0 && setting < 10, `only non-http(s) URLs are refused when set (${setting})`);
    assert.equal(await count(h, "transactions"), 0, "nothing was accepted");
    assert.equal(await count(h, "subscriptions"), 0);
  }));

Deno.test("held: every SSRF form is refused as a notification URL, at subscribe and when an operator seeds a subscription, without a connection", () =>
  withGuarded(async (h) => {
    const admin = await adminCaller(h.app, h.deps);
    const criteria = { reg_event_type: "update", notify_record_type: "person" };
    for (const [i, url] of ssrfUrls().entries()) {
      const r = await subscribeProcessor(
        h.deps,
        input(h.alice.senderId, { transaction_id: `t-${i}`, subscribe_request: [subItem("r", {})] }, url),
      );
      const item = (r.message.subscribe_response as Json[])[0];
      assert.equal(item.status, "rjct", url);
      assert.equal(item.status_reason_code, "rjct.notify_details.invalid", url);
      const seed = { sender_id: h.alice.senderId, notify_url: url, subscribe_criteria: criteria };
      const one = await admin("POST", "/subscriptions", seed);
      assert.equal(one.status, 400, `seed ${url}: ${JSON.stringify(one.body)}`);
      assert.match(JSON.stringify(one.body), /notify_url/, url);
      const many = await admin("POST", "/subscriptions/import", { subscriptions: [seed] });
      assert.deepEqual([(many.body as Json).created, (many.body as Json).rejected_count], [[], 1], url);
    }
    assert.equal(await count(h, "subscriptions"), 0);
  }));

Deno.test("held: a callback or notification URL changed to an SSRF form after accept fails at delivery, without a connection", () =>
  withGuarded(async (h) => {
    const admin = await adminCaller(h.app, h.deps);
    const carol = await createTestSender(h.deps, {
      callback_base_url: GOOD_BASE,
      auto_approve_subscriptions: true,
    });
    const sub = await subscribeProcessor(
      h.deps,
      input(carol.senderId, { transaction_id: "t-sub", subscribe_request: [subItem("r", {})] }),
    );
    assert.equal((sub.message.subscribe_response as Json[])[0].status, "succ");
    await putPerson(h.deps, person("p1"));
    // Forms that are no URL the server would send to (credentials, other schemes) leave the vetted URL in place.
    const usable = ssrfUrls().filter((u) => callbackBase(u) !== undefined);
    assert.ok(usable.length >= 140, `${usable.length} forms`);
    let tried = 0;
    for (const [i, url] of usable.entries()) {
      await setUrl(admin, carol.senderId, "callback_base_url", GOOD_BASE);
      const ack = await h.post("/registry/search", searchMessage(`d-${i}`), { sender: carol });
      assert.equal(ack.status, 202, JSON.stringify(ack.body));
      if (!await setUrl(admin, carol.senderId, "callback_base_url", url)) continue;
      tried++;
      await h.drain();
      const txn =
        (await h.deps.storage.transactions.getByCorrelationId((ack.body.message as Json).correlation_id))!;
      assert.equal(txn.state, "callback_failed", `callback to ${url}`);
      assert.match(String(txn.last_error), REFUSED, url);
      await putPerson(h.deps, person("p1", { name: { given_name: `v${i}`, surname: "S" } }));
      await runNotifierOnce(h.deps, { random: () => 0.5 });
      const [last, ...older] = await h.deps.storage.notifications.list({
        sender: carol.senderId,
        limit: 1000,
      });
      assert.equal(older.length, i, "one notification per change");
      assert.equal(last.status, "failed", `notification to ${url}`);
      assert.match(String(last.last_error), REFUSED, url);
    }
    assert.equal(tried, usable.length);
  }));

Deno.test("held: every SSRF form is refused as a sender's JWKS URL (admin fetch and scheduled refresh), without a connection", () =>
  withGuarded(async (h) => {
    const admin = await adminCaller(h.app, h.deps);
    const keys = async () => (await listSenderKeys(h.deps, h.alice.senderId)).map((k) => k.key_id);
    const before = await keys();
    let fetched = 0;
    for (const url of ssrfUrls()) {
      if (!await setUrl(admin, h.alice.senderId, "jwks_url", url)) continue;
      const r = await admin("POST", `/senders/${h.alice.senderId}/keys/fetch`);
      assert.equal(r.status, 502, `${url}: ${JSON.stringify(r.body)}`);
      assert.match(String((r.body as Json).error), REFUSED, url);
      // The scheduled refresh takes the same path (made due at once: moving the clock would expire the admin
      // token's verification cache, and each scrypt check costs more than the whole loop).
      await h.deps.sql("UPDATE senders SET jwks_fetched_at = NULL");
      assert.equal(await refreshDueJwks(h.deps), 1);
      const row = (await admin("GET", `/senders/${h.alice.senderId}`)).body as Json;
      assert.equal(row.jwks_fetch_status, "error", url);
      assert.match(String(row.jwks_fetch_error), REFUSED, url);
      fetched++;
    }
    assert.ok(fetched >= 140, `${fetched} forms fetched`);
    assert.deepEqual(await keys(), before, "the sender's keys are unchanged");
  }));

function subOf(txn: string): Record<string, unknown> {
  return subscribeMessage(txn, [{ reg_event_type: "update", notify_record_type: "person" }]);
}

/** A loopback listener on `hostname` (and `port`, 0 for any) counting requests and their Host headers. */
function listener(hostname: string, port: number, handler: (req: Request) => Response) {
  const hosts: string[] = [];
  const server = Deno.serve({ hostname, port, onListen: () => {} }, (req) => {
    hosts.push(req.headers.get("host") ?? "");
    return handler(req);
  });
  return { port: server.addr.port, hosts, close: () => server.shutdown() };
}

Deno.test("held: the connection goes to the address that was vetted, even when the name resolves elsewhere later", async () => {
  const vetted = listener("127.0.0.1", 0, () => new Response("vetted"));
  const other = listener("127.0.0.2", vetted.port, () => new Response("rebound"));
  try {
    // A rebinding name: the first answer is the one the guard vets; every later answer points elsewhere.
    let answers = 0;
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.0/8" }), {
      resolver: () => Promise.resolve([answers++ === 0 ? "127.0.0.1" : "127.0.0.2"]),
    });
    const res = await http.request(`http://rebind.partner.test:${vetted.port}/cb`, { method: "GET" });
    assert.equal(res.text(), "vetted");
    assert.deepEqual(vetted.hosts, [`rebind.partner.test:${vetted.port}`], "the Host header keeps the name");
    assert.deepEqual(other.hosts, []);
  } finally {
    await vetted.close();
    await other.close();
  }
});

Deno.test("held: no redirect is followed, whatever its status and method", async () => {
  let followed = 0;
  const r = listener("127.0.0.1", 0, (req) => {
    if (new URL(req.url).pathname === "/next") {
      followed++;
      return new Response("followed");
    }
    const status = Number(new URL(req.url).searchParams.get("s"));
    return new Response(null, { status, headers: { location: "/next" } });
  });
  try {
    const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
    for (const status of [301, 302, 303, 307, 308]) {
      for (
        const init of [{ method: "GET" as const }, { method: "POST" as const, body: "{}", statusOnly: true }]
      ) {
        const err = await http.request(`http://127.0.0.1:${r.port}/cb?s=${status}`, init).then(
          () => undefined,
          (e) => e,
        );
        assert.ok(
          err instanceof OutboundError && err.reason === "redirect",
          `${status} ${init.method}: ${err}`,
        );
      }
    }
    assert.equal(followed, 0);
    assert.equal(r.hosts.length, 10);
  } finally {
    await r.close();
  }
});
