/**
 * The sender's receiver credential (static bearer, or an OAuth2 token) goes only to an origin registered for the
 * sender: its callback URL's, and for an OAuth2 token also its token URL's. A request's header.sender_uri (used
 * when no callback URL is registered) elsewhere gets the delivery without it, and a warning, once per sender and
 * origin, that never holds the credential; no token is fetched for such a delivery.
 */
import assert from "node:assert/strict";
import {
  partnerHarness,
  searchMessage,
  startPartnerReceiver,
  subscribeMessage,
} from "../conformance/partner.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { credentialAllowed } from "../../src/senders/outbound_auth.ts";
import type { OutboundAuthRow } from "../../src/senders/sender_store.ts";

const TOKEN = "static-token-0123456789";
const SECRET = "client-secret-s3cret-value";
const WARNING = "delivery sent without the sender's outbound credential";

type Harness = Awaited<ReturnType<typeof partnerHarness>>;

/** Posts an async search from `s` naming `senderUri` (if any) and runs the worker. */
async function searchWith(
  h: Harness,
  s: Awaited<ReturnType<Harness["sender"]>>,
  id: string,
  senderUri?: string,
) {
  const header = senderUri ? { total_count: 1, sender_uri: senderUri } : { total_count: 1 };
  const r = await h.post("/registry/search", s, h.envelope(s, searchMessage(id), header), "sign");
  assert.equal(r.status, 202);
  await h.drain();
}

Deno.test("credentialAllowed(): the registered callback URL's origin, and an OAuth2 token URL's; nothing else", () => {
  const bearer: OutboundAuthRow = {
    outbound_auth: "bearer",
    outbound_token_url: null,
    outbound_client_id: null,
    outbound_scope: null,
    outbound_secret: "sealed",
  };
  const oauth2: OutboundAuthRow = {
    ...bearer,
    outbound_auth: "oauth2",
    outbound_token_url: "https://auth.partner.example/oauth/token",
    outbound_client_id: "cid",
  };
  const base = "https://partner.example/dci";
  assert.equal(credentialAllowed("https://partner.example/dci/registry/on-search", bearer, base), true);
  assert.equal(credentialAllowed("https://PARTNER.example:443/other", bearer, base), true, "same origin");
  assert.equal(credentialAllowed("http://partner.example/dci", bearer, base), false, "another scheme");
  assert.equal(credentialAllowed("https://partner.example:8443/dci", bearer, base), false, "another port");
  assert.equal(credentialAllowed("https://partner.example.evil.test/dci", bearer, base), false);
  assert.equal(credentialAllowed("https://partner.example/dci", bearer, null), false, "nothing registered");
  assert.equal(
    credentialAllowed("https://auth.partner.example/cb", bearer, base),
    false,
    "bearer: no token URL",
  );
  assert.equal(
    credentialAllowed("https://auth.partner.example/cb", oauth2, null),
    true,
    "the token's issuer",
  );
  assert.equal(credentialAllowed("https://partner.example/dci", oauth2, null), false);
  assert.equal(credentialAllowed("not a url", bearer, base), false);
});

Deno.test("static bearer: the registered callback URL gets the token; a sender_uri elsewhere (none registered) gets the callback without it, and one warning without the token", async () => {
  const h = await partnerHarness();
  const partner = startPartnerReceiver({ bearer: TOKEN });
  const elsewhere = startPartnerReceiver();
  try {
    const registered = await h.sender({
      callback_base_url: `${partner.url}/dci`,
      outbound_auth: { type: "bearer", token: TOKEN },
    });
    // The registered callback URL wins over the request's sender_uri, and carries the token.
    await searchWith(h, registered, "t-reg", `${elsewhere.url}/any`);
    assert.deepEqual(partner.hits.map((x) => [x.path, x.authorization]), [
      ["/dci/registry/on-search", `Bearer ${TOKEN}`],
    ]);

    const unregistered = await h.sender({ outbound_auth: { type: "bearer", token: TOKEN } });
    await searchWith(h, unregistered, "t-x1", `${elsewhere.url}/any/host`);
    await searchWith(h, unregistered, "t-x2", `${elsewhere.url}/any/host`);
    assert.deepEqual(elsewhere.hits.map((x) => [x.path, x.authorization]), [
      ["/any/host/registry/on-search", null],
      ["/any/host/registry/on-search", null],
    ]);
    const warned = h.logs.filter((l) => l.includes(WARNING));
    assert.equal(warned.length, 1, "once per sender and origin");
    const line = JSON.parse(warned[0]);
    assert.equal(line.level, "warn");
    assert.equal(line.sender_id, unregistered.senderId);
    assert.equal(line.origin, elsewhere.url);
    assert.ok(!h.logs.some((l) => l.includes(TOKEN)), "the token is never logged");
  } finally {
    await partner.close();
    await elsewhere.close();
    h.close();
  }
});

Deno.test("OAuth2: no token is fetched for a sender_uri elsewhere; one on the token URL's origin gets the token", async () => {
  const h = await partnerHarness();
  const partner = startPartnerReceiver({ client: { id: "cid", secret: SECRET } });
  const elsewhere = startPartnerReceiver();
  try {
    const s = await h.sender({
      outbound_auth: {
        type: "oauth2",
        token_url: `${partner.url}/token`,
        client_id: "cid",
        client_secret: SECRET,
      },
    });
    await searchWith(h, s, "t-y1", `${elsewhere.url}/x`);
    assert.deepEqual(elsewhere.hits.map((x) => [x.path, x.authorization]), [["/x/registry/on-search", null]]);
    assert.equal(partner.tokenRequests.length, 0, "no token fetched for a delivery that does not carry it");

    await searchWith(h, s, "t-y2", `${partner.url}/dci`);
    assert.deepEqual(partner.hits.map((x) => [x.path, x.authorization]), [
      ["/dci/registry/on-search", `Bearer ${partner.issued[0]}`],
    ]);
    assert.ok(!h.logs.some((l) => l.includes(SECRET) || l.includes(partner.issued[0])), "never logged");
  } finally {
    await partner.close();
    await elsewhere.close();
    h.close();
  }
});

Deno.test("static bearer: notifications to a subscribe request's sender_uri elsewhere (none registered) go without the token", async () => {
  const h = await partnerHarness();
  const elsewhere = startPartnerReceiver();
  try {
    const s = await h.sender({
      auto_approve_subscriptions: true,
      outbound_auth: { type: "bearer", token: TOKEN },
    });
    const sub = h.envelope(s, subscribeMessage("t-sub"), {
      action: "subscribe",
      total_count: 1,
      sender_uri: `${elsewhere.url}/cb`,
    });
    assert.equal((await h.post("/registry/subscribe", s, sub, "sign")).status, 202);
    await h.drain();
    await putPerson(h.deps, person("N-origin"));
    assert.equal(await runNotifierOnce(h.deps, { random: () => 0.5 }), 1);
    assert.deepEqual(
      elsewhere.hits.map((x) => [(x.body.header as { action: string }).action, x.authorization]),
      [
        ["on-subscribe", null],
        ["notify", null],
      ],
    );
    assert.ok(!h.logs.some((l) => l.includes(TOKEN)));
  } finally {
    await elsewhere.close();
    h.close();
  }
});
