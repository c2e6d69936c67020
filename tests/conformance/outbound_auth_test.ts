/**
 * Outbound authentication toward a sender's receivers (issue 12 §4; OpenSPP's receivers require a bearer token):
 * none, a static bearer token, or OAuth2 client credentials against the sender's token URL, the token cached
 * until it expires, refreshed, fetched through the guarded client, never logged; secrets never shown again.
 */
import assert from "node:assert/strict";
import { ack, partnerHarness, searchMessage, startPartnerReceiver, subscribeMessage } from "./partner.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { REFRESH_AFTER_401_MS } from "../../src/senders/outbound_auth.ts";

const TOKEN = "static-token-0123456789";
const SECRET = "client-secret-s3cret-value";

Deno.test("static bearer: callbacks and notifications to the sender's exact URL carry its token; without one the receiver's 401 is retried", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver({ bearer: TOKEN });
  try {
    const openspp = await h.sender({
      callback_base_url: `${rx.url}/dci/callback`,
      callback_url_mode: "exact",
      auto_approve_subscriptions: true,
      outbound_auth: { type: "bearer", token: TOKEN },
    });
    const bare = await h.sender({ callback_base_url: `${rx.url}/dci/callback`, callback_url_mode: "exact" });

    const a = await h.post(
      "/registry/search",
      openspp,
      h.envelope(openspp, searchMessage("t-a"), { total_count: 1 }),
      "sign",
    );
    const b = await h.post(
      "/registry/search",
      bare,
      h.envelope(bare, searchMessage("t-b"), { total_count: 1 }),
      "sign",
    );
    const sub = h.envelope(openspp, subscribeMessage("t-sub"), { action: "subscribe", total_count: 1 });
    assert.equal((await h.post("/registry/subscribe", openspp, sub, "sign")).status, 202);
    await h.drain();
    await putPerson(h.deps, person("N1"));
    assert.equal(await runNotifierOnce(h.deps, { random: () => 0.5 }), 1);

    const authorized = rx.hits.filter((x) => x.authorization === `Bearer ${TOKEN}`);
    assert.deepEqual(
      authorized.map((x) => `${x.path} ${(x.body.header as { action: string }).action}`).sort(),
      [
        "/dci/callback notify",
        "/dci/callback on-search",
        "/dci/callback on-subscribe",
      ],
    );
    const txn = async (ack: Record<string, unknown>) =>
      (await h.deps.storage.transactions.getByCorrelationId(
        (ack.message as { correlation_id: string }).correlation_id,
      ))!;
    assert.equal((await txn(a.body)).state, "callback_sent");
    const refused = await txn(b.body);
    assert.equal(refused.state, "succeeded", "not sent: a retry is scheduled");
    assert.equal(refused.last_error, "HTTP 401 from callback URL");
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("OAuth2 client credentials: one token fetched and cached, refreshed when it expires or is refused, never logged or shown", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver({
    client: { id: "dci-server-at-partner", secret: SECRET },
    expiresIn: 120,
  });
  try {
    const s = await h.sender({
      callback_base_url: rx.url,
      outbound_auth: {
        type: "oauth2",
        token_url: `${rx.url}/token`,
        client_id: "dci-server-at-partner",
        client_secret: SECRET,
      },
    });
    const search = async (t: string) => {
      const r = await h.post(
        "/registry/search",
        s,
        h.envelope(s, searchMessage(t), { total_count: 1 }),
        "sign",
      );
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return (r.body.message as { correlation_id: string }).correlation_id;
    };
    await search("t-1");
    await search("t-2");
    await h.drain();
    assert.equal(rx.tokenRequests.length, 1, "the second delivery uses the cached token");
    const form = rx.tokenRequests[0];
    assert.equal(form.get("grant_type"), "client_credentials");
    assert.equal(form.get("client_id"), "dci-server-at-partner");
    assert.equal(form.get("client_secret"), SECRET);
    assert.deepEqual(rx.hits.map((x) => x.authorization), ["Bearer tok-1", "Bearer tok-1"]);

    h.deps.clock.advance(121_000); // past expires_in: a new token
    await search("t-3");
    await h.drain();
    assert.equal(rx.tokenRequests.length, 2);
    assert.equal(rx.hits.at(-1)!.authorization, "Bearer tok-2");

    rx.revoked.add("tok-2"); // the receiver stops taking the cached token: refreshed within the same attempt
    const c4 = await search("t-4");
    await h.drain();
    assert.equal(rx.tokenRequests.length, 3);
    assert.deepEqual(rx.hits.slice(-2).map((x) => x.authorization), ["Bearer tok-2", "Bearer tok-3"]);
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(c4))!.state, "callback_sent");

    // A receiver that refuses every token: no new grant for its 401s within the minute of the last refresh (each
    // delivery fetched one, and posted twice).
    for (let n = 3; n <= 9; n++) rx.revoked.add(`tok-${n}`);
    const hitsBefore = rx.hits.length;
    await search("t-5");
    await search("t-6");
    await h.drain();
    assert.equal(rx.tokenRequests.length, 3, "no grant within the minute of the last refresh");
    assert.equal(rx.hits.length - hitsBefore, 2, "one POST per delivery");
    h.deps.clock.advance(REFRESH_AFTER_401_MS);
    await search("t-7");
    await h.drain();
    assert.equal(rx.tokenRequests.length, 4, "a minute later a 401 brings a new token again");

    const shown = (await h.admin("GET", `/senders/${s.senderId}`)).text;
    assert.deepEqual(JSON.parse(shown).outbound_auth, {
      type: "oauth2",
      token_url: `${rx.url}/token`,
      client_id: "dci-server-at-partner",
      scope: null,
      client_secret_set: true,
    });
    for (const secret of [SECRET, ...rx.issued]) {
      assert.ok(!shown.includes(secret), "the admin API never shows a secret");
      assert.ok(!h.logs.some((l) => l.includes(secret)), `no log line holds ${secret}`);
    }
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("OAuth2 client credentials: a refused token request fails the attempt without the endpoint's body; a token URL the guard blocks fails for good", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver({ client: { id: "x", secret: "the-right-one" } });
  try {
    const wrong = await h.sender({
      callback_base_url: rx.url,
      outbound_auth: { type: "oauth2", token_url: `${rx.url}/token`, client_id: "x", client_secret: SECRET },
    });
    const metadata = await h.sender({
      callback_base_url: rx.url,
      outbound_auth: {
        type: "oauth2",
        token_url: "http://169.254.169.254/token",
        client_id: "x",
        client_secret: SECRET,
      },
    });
    const ids: string[] = [];
    for (const s of [wrong, metadata]) {
      const r = await h.post(
        "/registry/search",
        s,
        h.envelope(s, searchMessage(crypto.randomUUID()), { total_count: 1 }),
        "sign",
      );
      ids.push((r.body.message as { correlation_id: string }).correlation_id);
    }
    rx.respond = () => ({ status: 200, body: ack() });
    await h.drain();
    const [a, b] = await Promise.all(
      ids.map(async (id) => (await h.deps.storage.transactions.getByCorrelationId(id))!),
    );
    assert.equal(a.state, "succeeded", "retried later");
    assert.equal(a.last_error, "token URL answered HTTP 401");
    assert.equal(b.state, "callback_failed", "the guard's refusal is permanent");
    assert.match(b.last_error!, /^token URL blocked/);
    assert.equal(rx.hits.length, 0, "nothing reached the receiver without a token");
    assert.ok(!h.logs.some((l) => l.includes(SECRET)));
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("admin API: bad outbound_auth is refused naming the field, without echoing a secret", async () => {
  const h = await partnerHarness();
  try {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: "bearer", token: "has a space in it" }, /outbound_auth\.token/],
      [
        { type: "oauth2", token_url: "ftp://partner.example/token", client_id: "c", client_secret: SECRET },
        /outbound_auth\.token_url/,
      ],
      [{
        type: "oauth2",
        token_url: "https://u:p@partner.example/token",
        client_id: "c",
        client_secret: SECRET,
      }, /outbound_auth\.token_url/],
      [
        { type: "oauth2", token_url: "https://partner.example/token", client_id: "c" },
        /outbound_auth\.client_secret/,
      ],
      [{ type: "magic" }, /outbound_auth\.type/],
    ];
    for (const [outbound_auth, field] of cases) {
      const r = await h.admin("POST", "/senders", { sender_id: "p.example", outbound_auth });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.message!.error.message, field);
      assert.ok(!r.text.includes(SECRET) && !r.text.includes("has a space"), r.text);
    }
  } finally {
    h.close();
  }
});
