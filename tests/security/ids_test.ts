/**
 * Ids (issue 11, item 16): key ids fetched from a JWKS pass the checks of keys added by hand; ids that travel in
 * HTTP headers are refused at accept unless they can travel there; `unsubscribe` is no oracle for other senders'
 * subscription codes.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { harness, type Json, searchMessage } from "../transactions/support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { input, subItem } from "../subscriptions/helpers.ts";
import { signedPoster } from "./support.ts";
import { createOutboundClient, type OutboundClient } from "../../src/net/outbound.ts";
import { fetchSenderKeys, parseJwks } from "../../src/senders/jwks_fetch.ts";
import { addSenderKey, listSenderKeys, removeSenderKey } from "../../src/senders/keys.ts";
import { addSender, SenderError, updateSender } from "../../src/senders/store.ts";
import { subscribeProcessor, unsubscribeProcessor } from "../../src/subscriptions/processors.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { seedSubscription } from "../../src/subscriptions/seed.ts";
import { readPlace } from "../../src/locations/model.ts";

function ed25519Jwk(): Record<string, unknown> {
  return generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }) as Record<string, unknown>;
}

/** An outbound client that serves one JWKS document. */
function jwksHttp(doc: unknown): OutboundClient {
  const body = JSON.stringify(doc);
  return {
    check: () => Promise.resolve(),
    request: () =>
      Promise.resolve({
        status: 200,
        headers: new Headers(),
        body: new TextEncoder().encode(body),
        text: () => body,
      }),
  };
}

Deno.test("JWKS key ids pass the checks of keys added by hand; a refused document keeps the old keys", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, "s1", { name: "s1", jwks_url: "https://s1.example/jwks.json" });
    const key = ed25519Jwk();
    const refused: Array<[string, unknown]> = [
      ["|", [{ ...key, kid: "|" }]],
      ["s1||ed25519", [{ ...key, kid: "s1||ed25519" }]],
      ["space", [{ ...key, kid: "s1|k 1|ed25519" }]],
      ["non-ASCII", [{ ...key, kid: "clé" }]],
      ["NUL", [{ ...key, kid: "k\u00001" }]],
      ["100 chars", [{ ...key, kid: "k".repeat(100) }]],
      ["four parts", [{ ...key, kid: "s1|k1|ed25519|x" }]],
      ["alg of another key type", [{ ...key, kid: "s1|k1|rs256" }]],
      ["twice", [{ ...key, kid: "s1|k1|ed25519" }, { ...key, kid: "k1" }]],
      // A path segment: the console's `…/keys/../remove` form would post to `…/remove`, the sender's own.
      ["dot-dot", [{ ...key, kid: ".." }]],
      ["dot", [{ ...key, kid: "s1|.|ed25519" }]],
    ];
    for (const [what, keys] of refused) {
      // Each check is the one a key added by hand gets; a member that fails it is skipped, leaving none here.
      assert.throws(() => parseJwks(JSON.stringify({ keys })), SenderError, what);
    }
    await assert.rejects(
      () => addSenderKey(deps, "s1", { keyId: "", material: key }),
      /key_id "" must be \[A-Za-z0-9_.:-\], 1 to 99 characters/,
    );
    await assert.rejects(() => addSenderKey(deps, "s1", { keyId: "..", material: key }), /not \. or \.\./);
    // Dots are fine in any other id ("...", "k.1"); a sender cannot be named "." or ".." either.
    assert.deepEqual(parseJwks(JSON.stringify({ keys: [{ ...key, kid: "..." }] })).keys.map((k) => k.keyId), [
      "...",
    ]);
    await assert.rejects(() => addSender(deps, "..", { name: "dots" }), /not \. or \.\./);
    // A fetch of a good document stores its key; a later one with no usable key is refused and the good key stays.
    deps.http = jwksHttp({ keys: [{ ...key, kid: "s1|k1|ed25519" }] });
    assert.deepEqual(await fetchSenderKeys(deps, "s1"), { ok: true, keys: 1 });
    deps.http = jwksHttp({ keys: [{ ...key, kid: "|" }] });
    const bad = await fetchSenderKeys(deps, "s1");
    assert.equal(bad.ok, false);
    assert.match(
      (bad as { error: string }).error,
      /JWKS has no usable signing key: key #0 \(\|\): key_id "" must be/,
    );
    assert.deepEqual((await listSenderKeys(deps, "s1")).map((k) => k.key_id), ["k1"]);
    // Every stored key can be named: a fetched one's removal is refused as fetched (its JWKS would bring it back),
    // and clearing the URL drops it.
    await assert.rejects(() => removeSenderKey(deps, "s1", "k1"), /key "k1" of sender "s1" was fetched/);
    await updateSender(deps, "s1", { jwks_url: null });
    assert.deepEqual(await listSenderKeys(deps, "s1"), []);
  } finally {
    deps.close();
  }
});

// A SQLite schema upgrade (PostgreSQL's schema starts from its own migrations): the PostgreSQL pass skips it.
Deno.test({
  name: "migration 0010 drops JWKS keys stored with ids no admin call can name",
  ignore: TEST_BACKEND === "postgres",
}, () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 9));
    db.exec(`INSERT INTO senders (sender_id, name, created_at, updated_at) VALUES ('s1', 's1', 'x', 'x')`);
    const insert = db.prepare(
      `INSERT INTO sender_keys (sender_id, key_id, alg, public_jwk, source, created_at)
       VALUES ('s1', ?, 'ed25519', '{}', ?, 'x')`,
    );
    for (const [id, source] of [["", "jwks"], ["a b", "jwks"], ["k1", "jwks"], ["m1", "manual"]]) {
      insert.run(id, source);
    }
    migrate(db);
    const ids =
      (db.prepare("SELECT key_id FROM sender_keys ORDER BY key_id").all() as Array<{ key_id: string }>)
        .map((r) => r.key_id);
    assert.deepEqual(ids, ["k1", "m1"]);
  } finally {
    db.close();
  }
});

Deno.test("ids that travel in headers are refused at accept with err.request.bad naming the field", async () => {
  const deps = await testDeps({ rateLimitMinute: "1000" });
  try {
    const alice = await createTestSender(deps);
    const post = signedPoster(deps, alice);
    const unsafe = ["tx-é", "tx\u0000nul", "tx 1", " tx", "tx\n", "tx\u2028", "✓"];
    for (const id of unsafe) {
      for (const path of ["search", "sync/search", "subscribe", "unsubscribe", "sync/receipt"]) {
        const message = path === "unsubscribe"
          ? { transaction_id: id, subscription_codes: ["c"] }
          : path === "sync/receipt"
          ? { transaction_id: id, notification_id: "n" }
          : path === "subscribe"
          ? { transaction_id: id, subscribe_request: [{ reference_id: "r" }] }
          : searchMessage(id);
        const r = await post(path, message);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(id)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.message.error.code, "err.request.bad");
        // A NUL is refused as the body is read (no field may hold one), naming the field too.
        assert.match(
          r.body.message.error.message,
          /message\.transaction_id(: must be 1 to 99 printable ASCII| holds a NUL character)/,
        );
      }
      // message_id is checked before the replay guard records it.
      const replayRows = async () => Number((await deps.sql("SELECT COUNT(*) AS n FROM replay_guard"))[0].n);
      const before = await replayRows();
      const r = await post("search", searchMessage("t-ok"), { message_id: id });
      assert.equal(r.status, 400);
      assert.match(
        r.body.message.error.message,
        /header\.message_id(: must be 1 to 99 printable ASCII| holds a NUL character)/,
      );
      assert.equal(await replayRows(), before);
    }
    // reference_id: the item is rejected with its spec code, the others answered.
    const sync = await post("sync/search", {
      transaction_id: "t-refs",
      search_request: [
        { ...(searchMessage("x").search_request as Json[])[0], reference_id: "réf" },
        { ...(searchMessage("x").search_request as Json[])[0], reference_id: "ref-ok" },
      ],
    }, {});
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const items = sync.body.message.search_response as Json[];
    assert.equal(items[0].status_reason_code, "rjct.reference_id.invalid");
    assert.match(items[0].status_reason_message, /printable ASCII/);
    assert.equal(items[1].status, "succ");
  } finally {
    deps.close();
  }
});

Deno.test("callbacks carry X-DCI-Transaction-ID; a row stored with an unsafe id is still delivered, without it", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    h.deps.http = createOutboundClient(h.deps.config);
    const ok = await h.post("/registry/search", searchMessage("t-header-ok"), { senderUri: rx.url });
    // A transaction accepted before ids were checked (the rule is new; rows may hold anything).
    const old = await h.post("/registry/search", searchMessage("t-old"), { senderUri: rx.url });
    const oldId = (old.body.message as Json).correlation_id;
    // PostgreSQL's text holds no NUL: there the row holds another control character.
    const unsafe = h.deps.backend === "postgres" ? "tx-é\u0001" : "tx-é\u0000";
    await h.deps.sql("UPDATE transactions SET transaction_id = ? WHERE correlation_id = ?", [unsafe, oldId]);
    await h.drain();
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId((ok.body.message as Json).correlation_id))!.state,
      "callback_sent",
    );
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(oldId))!.state, "callback_sent");
    const byTxn = new Map(rx.received.map((r) => [(r.body.message as Json).transaction_id, r]));
    assert.equal(byTxn.get("t-header-ok")!.transactionIdHeader, "t-header-ok");
    assert.equal(byTxn.get("t-old")!.transactionIdHeader, null);
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("unsubscribe answers another sender's subscription code exactly as an unknown code", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await addSender(deps, "s2", { name: "s2", auto_approve_subscriptions: true });
    const sub = await subscribeProcessor(
      deps,
      input("s2", { transaction_id: "t", subscribe_request: [subItem("r", {})] }, "http://127.0.0.1:9/cb"),
    );
    const foreign = (sub.message.subscribe_response as Json)[0].subscriptions[0].code as string;
    const unknown = `${foreign.slice(0, -4)}zzzz`;
    const ask = (code: string) =>
      unsubscribeProcessor(deps, input("s1", { transaction_id: `u-${code}`, subscription_codes: [code] }));
    // Everything but the code itself (and ids/times of the request) must be the same.
    const shape = (r: Awaited<ReturnType<typeof ask>>, code: string) =>
      JSON.parse(
        JSON.stringify({
          ...r,
          message: { ...r.message, transaction_id: "", correlation_id: "", timestamp: "" },
        })
          .replaceAll(code, "CODE"),
      );
    assert.deepEqual(shape(await ask(foreign), foreign), shape(await ask(unknown), unknown));
    assert.equal((await ask(foreign)).message.status_reason_code, "rjct.subscription_code.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("a record id, a subscription code and a location code of . or .. are refused: each is a path segment of the admin API and the console", async () => {
  const deps = await testDeps();
  try {
    for (const id of [".", ".."]) {
      const report = await deps.storage.registryLoad.writeAll([{
        line: 1,
        raw: { id, name: { surname: "Dot" } },
      }], {
        now: () => new Date(deps.clock.now()).toISOString(),
      });
      assert.equal(report.rejectedCount, 1, id);
      assert.match(JSON.stringify(report.rejected), /not be \. or \.\./);
    }
    await addSender(deps, "s1", {});
    for (const code of [".", ".."]) {
      await assert.rejects(
        seedSubscription(deps, {
          sender_id: "s1",
          code,
          notify_url: "http://127.0.0.1:9/notify",
          subscribe_criteria: { reg_event_type: "UPDATE", notify_record_type: "person" },
        }),
        /code must not be \. or \.\./,
      );
    }
    for (const code of [".", ".."]) {
      const read = readPlace({ code, name: "Dot", level: "dci:Region" });
      assert.ok("errors" in read && read.errors.some((e) => /not \. or \.\./.test(e)), code);
    }
  } finally {
    deps.close();
  }
});
