/**
 * Issue 12 §1, spec-exact fields: locale and timestamps validated the same way on every endpoint, notifications
 * in the spec's NotifyEventRequest shape and vocabulary, and header.receiver_id naming this server.
 */
import assert from "node:assert/strict";
import { envelope, type Json, searchOf, send, specHarness, txnStatusOf } from "./spec_support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { person, putPerson, removePerson } from "../subscriptions/helpers.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { loadConfig } from "../../src/config.ts";

const ZONELESS = "2026-01-01T10:00:00";

Deno.test("locale must be three lowercase letters on search, subscribe, txn/status and receipt alike", async () => {
  const h = await specHarness();
  try {
    const refused = async (path: string, message: Record<string, unknown>, action: string, field: RegExp) => {
      const res = await send(h, path, envelope(h, message, { action }));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.message.error.code, "err.request.bad");
      assert.match(res.body.message.error.message, field);
      assert.match(res.body.message.error.message, /three lowercase letters/);
    };
    await refused(
      "/registry/sync/search",
      searchOf("l-1", ["a"], { locale: "en" }),
      "search",
      /search_request\.0\.locale/,
    );
    await refused(
      "/registry/search",
      searchOf("l-2", ["a"], { locale: "ENG" }),
      "search",
      /search_request\.0\.locale/,
    );
    await refused(
      "/registry/subscribe",
      {
        transaction_id: "l-3",
        subscribe_request: [{ reference_id: "s", timestamp: "2026-01-01T00:00:00Z", locale: "en" }],
      },
      "subscribe",
      /subscribe_request\.0\.locale/,
    );
    await refused(
      "/registry/sync/txn/status",
      txnStatusOf("x", { locale: "english" }),
      "txn-status",
      /txnstatus_request\.locale/,
    );
    await refused(
      "/registry/sync/receipt",
      { transaction_id: "l-5", notification_id: "n", locale: "e1g" },
      "receipt",
      /locale/,
    );
    const ok = await send(
      h,
      "/registry/sync/search",
      envelope(h, searchOf("l-6", ["a"], { locale: "eng" }), { action: "search" }),
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.body.message.search_response[0].locale, "eng");
  } finally {
    h.close();
  }
});

Deno.test('locale "" or null reads as absent (11 of the spec\'s 28 sample requests send ""): accepted, not echoed', async () => {
  const h = await specHarness();
  try {
    for (const [i, locale] of ["", null].entries()) {
      const search = await send(
        h,
        "/registry/sync/search",
        envelope(h, searchOf(`e-${i}`, ["a"], { locale }), { action: "search" }),
      );
      assert.equal(search.status, 200, JSON.stringify(search.body));
      assert.equal(search.body.message.search_response[0].status, "succ");
      assert.equal("locale" in search.body.message.search_response[0], false);
      const status = await send(
        h,
        "/registry/sync/txn/status",
        envelope(h, txnStatusOf("x", { locale }), { action: "txn-status" }),
      );
      assert.equal(status.status, 200, JSON.stringify(status.body));
      const subscribe = await send(
        h,
        "/registry/subscribe",
        envelope(h, {
          transaction_id: `e-s-${i}`,
          subscribe_request: [{ reference_id: "s", timestamp: "2026-01-01T00:00:00Z", locale }],
        }, { action: "subscribe" }),
      );
      assert.equal(subscribe.status, 202, JSON.stringify(subscribe.body));
      const receipt = await send(
        h,
        "/registry/sync/receipt",
        envelope(h, { transaction_id: `e-r-${i}`, notification_id: "n", locale }, { action: "receipt" }),
      );
      assert.notEqual(receipt.status, 400, JSON.stringify(receipt.body));
    }
  } finally {
    h.close();
  }
});

Deno.test("RFC 3339's lowercase t and z, and a space for the T, are date-times: message_ts and item timestamps", async () => {
  const h = await specHarness();
  try {
    const now = new Date(h.deps.clock.now()).toISOString();
    for (const [i, ts] of [now.replace("T", "t").replace("Z", "z"), now.replace("T", " ")].entries()) {
      const res = await send(
        h,
        "/registry/sync/search",
        envelope(h, searchOf(`rfc-${i}`, ["a"], { timestamp: ts }), {
          action: "search",
          header: { message_ts: ts },
        }),
      );
      assert.equal(res.status, 200, `${ts}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.message.search_response[0].status, "succ", ts);
    }
    // Still refused: no zone (the schema), or a T replaced by anything else (no date the admission can read).
    const [zoneless, underscore] = await Promise.all(
      [now.slice(0, -1), now.replace("T", "_")].map((ts, i) =>
        send(
          h,
          "/registry/sync/search",
          envelope(h, searchOf(`bad-${i}`, ["a"]), {
            action: "search",
            header: { message_ts: ts },
          }),
        )
      ),
    );
    assert.equal(zoneless.status, 400);
    assert.match(zoneless.body.message.error.message, /header\.message_ts: expected an ISO 8601 date-time/);
    assert.equal(underscore.status, 400);
    assert.equal(underscore.body.header.status_reason_code, "rjct.message_ts.invalid");
  } finally {
    h.close();
  }
});

Deno.test("every item timestamp needs a zone: search, subscribe, unsubscribe, txn/status and receipt", async () => {
  const h = await specHarness();
  try {
    const search = await send(
      h,
      "/registry/sync/search",
      envelope(h, searchOf("z-1", ["a"], { timestamp: ZONELESS }), { action: "search" }),
    );
    assert.equal(search.body.message.search_response[0].status_reason_code, "rjct.timestamp.invalid");

    const sub = {
      transaction_id: "z-2",
      subscribe_request: [{ reference_id: "s", timestamp: ZONELESS, subscribe_criteria: {} }],
    };
    assert.equal(
      (await send(h, "/registry/subscribe", envelope(h, sub, { action: "subscribe" }))).status,
      202,
    );
    const unsub = { transaction_id: "z-3", timestamp: ZONELESS, subscription_codes: ["c1"] };
    assert.equal(
      (await send(h, "/registry/unsubscribe", envelope(h, unsub, { action: "unsubscribe" }))).status,
      202,
    );
    await h.drain();
    const body = (suffix: string) => h.http.sent.find((s) => s.url.endsWith(suffix))!.body as Json;
    const item = body("/on-subscribe").message.subscribe_response[0];
    assert.deepEqual([item.status, item.status_reason_code], ["rjct", "rjct.timestamp.invalid"]);
    const onUnsub = body("/on-unsubscribe").message;
    assert.deepEqual([onUnsub.status, onUnsub.status_reason_code], ["rjct", "rjct.timestamp.invalid"]);

    // txn/status and receipt messages have no item codes: a zoneless timestamp is a bad request naming it.
    const status = await send(
      h,
      "/registry/sync/txn/status",
      envelope(h, txnStatusOf("x", { timestamp: ZONELESS }), { action: "txn-status" }),
    );
    assert.equal(status.status, 400);
    assert.match(status.body.message.error.message, /txnstatus_request\.timestamp/);
    const receipt = await send(
      h,
      "/registry/receipt",
      envelope(h, { transaction_id: "z-5", notification_id: "n", timestamp: ZONELESS }, {
        action: "receipt",
      }),
    );
    assert.equal(receipt.status, 400);
    assert.match(receipt.body.message.error.message, /timestamp/);
  } finally {
    h.close();
  }
});

Deno.test("notify is the spec's NotifyEventRequest: one record object, reg_type and reg_record_type as search answers", async () => {
  const h = await specHarness();
  try {
    const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const criteria = (type: string, record: string) => ({
      reference_id: `${type}-${record}`,
      timestamp: "2026-01-01T00:00:00Z",
      subscribe_criteria: {
        reg_type: "SOCIAL_REGISTRY",
        reg_event_type: type,
        notify_record_type: record,
        filter: {},
      },
    });
    const sub = {
      transaction_id: "n-1",
      subscribe_request: [criteria("register", "person"), criteria("delete", "Individual")],
    };
    await send(
      h,
      "/registry/subscribe",
      envelope(h, sub, { action: "subscribe", sender: carol, totalCount: 2 }),
      carol,
    );
    await h.drain();
    await putPerson(h.deps, person("v1"));
    await removePerson(h.deps, "v1");
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const events = h.http.sent.filter((s) => s.url.endsWith("/registry/notify")).map((s) =>
      (s.body as Json).message
    );
    assert.equal(events.length, 2);
    const search = await send(
      h,
      "/registry/sync/search",
      envelope(h, {
        transaction_id: "n-2",
        search_request: [{
          reference_id: "r",
          timestamp: "2026-01-01T00:00:00Z",
          search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "U-v9" } },
        }],
      }, { action: "search" }),
    );
    const vocabulary = search.body.message.search_response[0].data;
    for (const m of events) {
      const data = m.notify_event[0].data;
      assert.equal(data.reg_type, vocabulary.reg_type);
      assert.equal(data.reg_record_type, vocabulary.reg_record_type);
      assert.equal(Array.isArray(data.reg_records), false);
      assert.equal(typeof data.reg_records, "object");
    }
    const data = events.map((m) => m.notify_event[0].data);
    const registered = data.find((d) => d.reg_event_type === "REGISTER");
    const deleted = data.find((d) => d.reg_event_type !== "REGISTER");
    assert.equal(registered.reg_records.sex, "female");
    // Updates and deletes have no spec value: UPDATE and DELETE (tests/helpers/spec_defects.ts).
    assert.equal(deleted.reg_event_type, "DELETE");
    assert.equal(deleted.reg_records.sex, undefined, "a delete sends identifiers only");
  } finally {
    h.close();
  }
});

Deno.test("header.receiver_id must name this server (its sender id or DCI_RECEIVER_ALIASES)", async () => {
  const h = await specHarness({ receiverAliases: "crvs, registry.example.org" });
  try {
    const search = (ref: string, receiver?: string) =>
      envelope(h, searchOf(ref, ["a"]), {
        action: "search",
        header: receiver ? { receiver_id: receiver } : {},
      });
    for (const ok of [undefined, "dci-server", "crvs", "registry.example.org"]) {
      const res = await send(h, "/registry/sync/search", search(`ok-${ok}`, ok));
      assert.equal(res.status, 200, `${ok}: ${JSON.stringify(res.body)}`);
    }
    for (const path of ["/registry/sync/search", "/registry/search"]) {
      const res = await send(h, path, search(`bad-${path}`, "Registry.Example.org"));
      assert.equal(res.status, 400);
      assert.equal(res.body.message.error.code, "err.receiver_id.invalid");
      assert.match(res.body.message.error.message, /"Registry\.Example\.org" does not name this server/);
    }
  } finally {
    h.close();
  }
  assert.throws(() => loadConfig({}, { DCI_RECEIVER_ALIASES: "ok,two words" }), /DCI_RECEIVER_ALIASES/);
});

Deno.test("an encrypted message (header.is_msg_encrypted true) is refused with err.encryption.invalid", async () => {
  const h = await specHarness();
  try {
    // The spec's EncryptedMessage: a JWE-like object in place of the message.
    const encrypted = {
      header: { alg: "ECDH-ES", enc: "A256GCM", kid: "k1" },
      ciphertext: "abc",
      tag: "t",
      iv: "i",
    };
    for (
      const [path, message] of [["/registry/sync/search", encrypted], [
        "/registry/search",
        searchOf("enc", ["a"]),
      ]]
    ) {
      const res = await send(
        h,
        path as string,
        envelope(h, message as never, { action: "search", header: { is_msg_encrypted: true } }),
      );
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.message.error.code, "err.encryption.invalid");
    }
    const plain = await send(
      h,
      "/registry/sync/search",
      envelope(h, searchOf("plain", ["a"]), { action: "search", header: { is_msg_encrypted: false } }),
    );
    assert.equal(plain.status, 200);
  } finally {
    h.close();
  }
});

Deno.test("the spec's sample requests' empty condition and expression2 and string total_count are read as meant", async () => {
  const h = await specHarness();
  try {
    // As spdci-standards' sample-jsons/example_files/social/processflow2req.json sends them.
    const predicate = [{
      seq_num: "",
      expression1: { attribute_name: "UIN", operator: "eq", attribute_value: "847951632" },
      condition: "",
      expression2: "",
    }];
    for (const path of ["/registry/sync/search", "/registry/search"]) {
      const res = await send(
        h,
        path,
        envelope(
          h,
          searchOf(`sample-${path}`, ["r1"], {
            search_criteria: { query_type: "predicate", query: predicate },
          }),
          { action: "search", header: { total_count: "1" } },
        ),
      );
      assert.equal(res.status, path.includes("sync") ? 200 : 202, JSON.stringify(res.body));
      if (path.includes("sync")) {
        assert.equal(res.body.header.status, "succ", JSON.stringify(res.body));
        assert.equal(res.body.message.search_response[0].status, "succ", JSON.stringify(res.body));
      } else assert.equal(res.body.message.ack_status, "ACK");
    }
    // Anything else in place of an expression, or a total_count that is not a whole number, is still refused.
    const bad = await send(
      h,
      "/registry/sync/search",
      envelope(
        h,
        searchOf("bad-expr", ["r1"], {
          search_criteria: { query_type: "predicate", query: [{ ...predicate[0], expression2: "x" }] },
        }),
        { action: "search" },
      ),
    );
    assert.equal(bad.body.message.search_response[0].status_reason_code, "rjct.filter.invalid");
    const count = await send(
      h,
      "/registry/sync/search",
      envelope(h, searchOf("bad-count", ["r1"]), { action: "search", header: { total_count: "1.5" } }),
    );
    assert.equal(count.status, 400);
  } finally {
    h.close();
  }
});
