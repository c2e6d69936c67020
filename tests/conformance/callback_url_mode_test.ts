/**
 * The callback URL mode per sender (issue 12 §4): `append` (the default, as before) adds `/registry/on-search`
 * etc. to the callback base unless it already names a callback endpoint; `exact` posts every callback and
 * notification to the sender's URL as given (OpenSPP's `sender_uri` names its receiver endpoint).
 */
import assert from "node:assert/strict";
import { partnerHarness, searchMessage, startPartnerReceiver } from "./partner.ts";
import { currentCallbackUrl } from "../../src/transactions/callback.ts";
import { getSender, updateSender } from "../../src/senders/store.ts";

Deno.test("callback URL mode: exact posts to header.sender_uri as given, append (the default) adds /registry/on-search", async () => {
  const h = await partnerHarness();
  const receiver = startPartnerReceiver();
  try {
    const exact = await h.sender({ callback_url_mode: "exact" });
    const append = await h.sender();
    const uri = `${receiver.url}/api/v2/dci/callback`;
    for (const s of [exact, append]) {
      const env = h.envelope(s, searchMessage(crypto.randomUUID()), { total_count: 1, sender_uri: uri });
      const r = await h.post("/registry/search", s, env, "sign");
      assert.equal(r.status, 202, JSON.stringify(r.body));
    }
    await h.drain();
    const paths = receiver.hits.map((x) =>
      `${(x.body.header as Record<string, unknown>).receiver_id} ${x.path}`
    );
    assert.deepEqual(
      paths.sort(),
      [
        `${append.senderId} /api/v2/dci/callback/registry/on-search`,
        `${exact.senderId} /api/v2/dci/callback`,
      ].sort(),
    );
  } finally {
    await receiver.close();
    h.close();
  }
});

Deno.test("callback URL mode: a change applies to callbacks still waiting (computed at send time), and the admin API shows it", async () => {
  const h = await partnerHarness();
  try {
    const s = await h.sender({ callback_base_url: "https://partner.example/dci/receiver" });
    const now = new Date(h.deps.clock.now()).toISOString();
    const { row } = await h.deps.storage.transactions.insert({
      sender_id: s.senderId,
      transaction_id: "t-1",
      dedupe_key: "t-1",
      message_id: "m-1",
      correlation_id: "c-1",
      action: "subscribe",
      registry: "social",
      callback_url: "https://partner.example/dci/receiver/registry/on-subscribe",
      request_header: "{}",
      request_message: "{}",
      ack: "{}",
      reference_ids: [],
      now,
    });
    const txn = async () => (await h.deps.storage.transactions.getByCorrelationId(row.correlation_id))!;
    assert.equal(
      await currentCallbackUrl(h.deps, await txn(), await getSender(h.deps, s.senderId)),
      "https://partner.example/dci/receiver/registry/on-subscribe",
    );
    const res = await h.admin("PATCH", `/senders/${s.senderId}`, { callback_url_mode: "exact" });
    assert.equal(res.body.callback_url_mode, "exact");
    assert.equal(
      await currentCallbackUrl(h.deps, await txn(), await getSender(h.deps, s.senderId)),
      "https://partner.example/dci/receiver",
    );
    await updateSender(h.deps, s.senderId, { callback_url_mode: "append" });
    assert.equal(
      await currentCallbackUrl(h.deps, await txn(), await getSender(h.deps, s.senderId)),
      "https://partner.example/dci/receiver/registry/on-subscribe",
    );
    const bad = await h.admin("PATCH", `/senders/${s.senderId}`, { callback_url_mode: "guess" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message!.error.message, /callback_url_mode/);
  } finally {
    h.close();
  }
});
