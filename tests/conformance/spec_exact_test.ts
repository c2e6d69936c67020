/**
 * Issue 12 §1, spec-exact on every path: header-level rejections, txn-status of an unknown transaction,
 * item-level codes and refusals after the ACK. Every answer and callback here is also checked against the spec
 * yaml by the harness (tests/helpers/spec_hooks.ts); the assertions say what the answer must contain.
 */
import assert from "node:assert/strict";
import { envelope, type Json, searchOf, send, specHarness, txnStatusOf } from "./spec_support.ts";
import { callbackErrors } from "../helpers/spec_check.ts";
import { specDocument } from "../helpers/spec_validator.ts";
import { HEADER_RJCT_CODES } from "../../src/dci/errors.ts";
import { SearchStatusReasonCode } from "../../src/dci/search.ts";
import { REGISTRIES } from "../../src/dci/registry_router.ts";
import { profileOf } from "../../src/registries/index.ts";

const items = (list: Json[]) => list.map((i) => [i.reference_id, i.status, i.status_reason_code ?? null]);

Deno.test("sync/search answers each header-level rejection with a complete on-search message", async () => {
  const h = await specHarness();
  try {
    const now = h.deps.clock.now();
    const twice = envelope(h, searchOf("t-dup", ["a", "b"]), { action: "search", totalCount: 2 });
    assert.equal((await send(h, "/registry/sync/search", twice)).status, 200);
    const cases: Array<[string, Json, number, string]> = [
      ["duplicate", twice, 409, "rjct.message_id.duplicate"],
      [
        "stale",
        envelope(h, searchOf("t-old", ["a", "b"]), {
          action: "search",
          totalCount: 2,
          header: { message_ts: new Date(now - 3_600_000).toISOString() },
        }),
        400,
        "rjct.message_ts.invalid",
      ],
      [
        "count",
        envelope(h, searchOf("t-cnt", ["a", "b"]), { action: "search", totalCount: 3 }),
        400,
        "rjct.total_count.invalid",
      ],
      [
        "version",
        envelope(h, searchOf("t-ver", ["a", "b"]), {
          action: "search",
          totalCount: 2,
          header: { version: "2.0" },
        }),
        400,
        "rjct.version.invalid",
      ],
    ];
    for (const [what, env, status, code] of cases) {
      const res = await send(h, "/dci_api/v1/social/registry/sync/search", env);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.header.action, "on-search");
      assert.equal(res.body.header.status, "rjct");
      assert.equal(res.body.header.status_reason_code, code);
      assert.equal(res.body.header.total_count, 2);
      assert.equal(res.body.message.transaction_id, env.message.transaction_id);
      assert.equal(typeof res.body.message.correlation_id, "string");
      // One rejected item per request item; the header-level code is not an item code.
      assert.deepEqual(items(res.body.message.search_response), [["a", "rjct", null], ["b", "rjct", null]]);
    }
  } finally {
    h.close();
  }
});

Deno.test("sync/txn/status and sync/receipt answer a replayed message with their own complete message", async () => {
  const h = await specHarness();
  try {
    const status = envelope(h, txnStatusOf("t-1"), { action: "txn-status" });
    await send(h, "/registry/sync/txn/status", status);
    const again = await send(h, "/registry/sync/txn/status", status);
    assert.equal(again.status, 409);
    assert.equal(again.body.header.action, "txn-on-status");
    assert.equal(again.body.header.status_reason_code, "rjct.message_id.duplicate");
    const txn = again.body.message.txnstatus_response;
    assert.equal(txn.txn_type, "search");
    assert.deepEqual(items(txn.txn_status.search_response), [["q-ref-1", "rjct", null]]);

    const receipt = envelope(h, { transaction_id: "r-1", notification_id: "n-1" }, { action: "receipt" });
    await send(h, "/registry/sync/receipt", receipt);
    const replay = await send(h, "/registry/sync/receipt", receipt);
    assert.equal(replay.status, 409);
    assert.equal(replay.body.header.status_reason_code, "rjct.message_id.duplicate");
    assert.equal(replay.body.message.transaction_id, "r-1");
    assert.equal(replay.body.message.receipt_response.status, "rjct");
  } finally {
    h.close();
  }
});

Deno.test("async endpoints answer header-level rejections with the ERR ACK, never an on-search envelope", async () => {
  const h = await specHarness();
  try {
    const search = envelope(h, searchOf("a-dup", ["a"]), { action: "search" });
    assert.equal((await send(h, "/registry/search", search)).status, 202);
    const dup = await send(h, "/registry/search", search);
    assert.equal(dup.status, 409);
    assert.equal(dup.body.header, undefined);
    assert.equal(dup.body.message.ack_status, "ERR");
    assert.equal(dup.body.message.error.code, "err.request.bad");
    assert.match(dup.body.message.error.message, /^rjct\.message_id\.duplicate: /);

    // Checked at accept now: nothing is stored, no callback will come.
    const count = await send(
      h,
      "/registry/search",
      envelope(h, searchOf("a-cnt", ["a"]), { action: "search", totalCount: 4 }),
    );
    assert.equal(count.status, 400);
    assert.match(count.body.message.error.message, /^rjct\.total_count\.invalid: /);
    const [stored] = await h.deps.sql(
      "SELECT COUNT(*) AS n FROM transactions WHERE transaction_id = 'a-cnt'",
    );
    assert.equal(Number(stored.n), 0);

    const version = await send(
      h,
      "/registry/subscribe",
      envelope(h, {
        transaction_id: "s-ver",
        subscribe_request: [{ reference_id: "s", timestamp: "2026-01-01T00:00:00Z" }],
      }, {
        action: "subscribe",
        header: { version: "9" },
      }),
    );
    assert.equal(version.status, 400);
    assert.equal(version.body.message.error.code, "err.version.not_supported");
    assert.match(version.body.message.error.message, /^rjct\.version\.invalid: /);

    const stale = await send(
      h,
      "/dci_api/v1/crvs/registry/txn/status",
      envelope(h, txnStatusOf("x"), {
        action: "txn-status",
        header: { message_ts: new Date(h.deps.clock.now() + 3_600_000).toISOString() },
      }),
    );
    assert.equal(stale.status, 400);
    assert.match(stale.body.message.error.message, /^rjct\.message_ts\.invalid: /);
  } finally {
    h.close();
  }
});

Deno.test("txn-status of an unknown transaction: a valid header and the spec's txn_status shape, sync and async", async () => {
  const h = await specHarness();
  try {
    const sync = await send(
      h,
      "/registry/sync/txn/status",
      envelope(h, txnStatusOf("never-sent"), { action: "txn-status" }),
    );
    assert.equal(sync.status, 200);
    const check = (body: Json) => {
      assert.equal(body.header.status, "rjct");
      // No header-level code means "not found": the header carries none; the item carries the item-level one.
      assert.ok(
        body.header.status_reason_code === undefined ||
          (HEADER_RJCT_CODES as readonly string[]).includes(body.header.status_reason_code),
      );
      assert.match(body.header.status_reason_message, /No search transaction/);
      const txn = body.message.txnstatus_response;
      assert.equal(txn.txn_type, "search");
      assert.deepEqual(items(txn.txn_status.search_response), [[
        "q-ref-1",
        "rjct",
        "rjct.reference_id.invalid",
      ]]);
    };
    check(sync.body);

    const ack = await send(
      h,
      "/registry/txn/status",
      envelope(h, txnStatusOf("never-sent"), { action: "txn-status" }),
    );
    assert.equal(ack.status, 202);
    await h.drain();
    const cb = h.http.sent.find((s) => s.url.endsWith("/registry/txn/on-status"));
    assert.ok(cb, "the txn/on-status callback was sent");
    assert.deepEqual(callbackErrors(cb.body, { path: cb.url }), []);
    check(cb.body);
  } finally {
    h.close();
  }
});

Deno.test("item codes come from the item enum: an unsupported registry's items carry no header-only code", async () => {
  const spec = specDocument("social").components.schemas;
  assert.deepEqual([...HEADER_RJCT_CODES].sort(), [...spec.MsgHeaderStatusReasonCode.enum].sort());
  for (const code of SearchStatusReasonCode.options) {
    assert.ok(spec.SearchStatusReasonCode.enum.includes(code), code);
  }
  // The over-budget and over-cap search answer of issue 11 is an item code the spec has.
  assert.ok(spec.SearchStatusReasonCode.enum.includes("rjct.search.too_many_records_found"));
  // A registry of the path vocabulary that has no profile yet (crvs became real with its profile, issue 13).
  const unsupported = REGISTRIES.find((r) => !profileOf(r));
  if (!unsupported) return;
  const h = await specHarness();
  try {
    const res = await send(
      h,
      `/dci_api/v1/${unsupported}/registry/sync/search`,
      envelope(h, searchOf("t-unsupported", ["a", "b"]), { action: "search", totalCount: 2 }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.header.status_reason_code, "rjct.action.not_supported");
    assert.deepEqual(items(res.body.message.search_response), [["a", "rjct", null], ["b", "rjct", null]]);
  } finally {
    h.close();
  }
});

Deno.test("an async transaction refused or failed after the ACK gets a complete callback with a header-level code only", async () => {
  const h = await specHarness({ processAttempts: "1" }, {
    processors: {
      search: () => Promise.reject(new Error("boom")),
      subscribe: () => Promise.reject(new Error("boom")),
    },
  });
  try {
    await send(
      h,
      "/registry/search",
      envelope(h, searchOf("f-1", ["a", "b"]), { action: "search", totalCount: 2 }),
    );
    const sub = {
      transaction_id: "f-2",
      subscribe_request: [{ reference_id: "s1", timestamp: "2026-01-01T00:00:00Z" }],
    };
    await send(h, "/registry/subscribe", envelope(h, sub, { action: "subscribe" }));
    await h.drain();
    const onSearch = h.http.sent.find((s) => s.url.endsWith("/on-search"))!.body as Json;
    assert.equal(onSearch.header.status, "rjct");
    // The row records rjct.processing.failed for operators; it is no MsgHeaderStatusReasonCode, so not sent.
    assert.equal(onSearch.header.status_reason_code, undefined);
    assert.match(
      onSearch.header.status_reason_message,
      /Processing failed in 1 attempts; quote correlation_id/,
    );
    assert.deepEqual(items(onSearch.message.search_response), [["a", "rjct", null], ["b", "rjct", null]]);
    const [row] = await h.deps.sql(
      "SELECT status_reason_code FROM transactions WHERE transaction_id = 'f-1'",
    );
    assert.equal(row.status_reason_code, "rjct.processing.failed");
    const onSubscribe = h.http.sent.find((s) => s.url.endsWith("/on-subscribe"))!.body as Json;
    assert.deepEqual(items(onSubscribe.message.subscribe_response), [["s1", "rjct", null]]);
  } finally {
    h.close();
  }
});

Deno.test("every rjct code the server's source names is one of the spec's enums (one internal code, never sent)", async () => {
  const s = specDocument("social").components.schemas;
  const known = new Set<string>([
    ...s.MsgHeaderStatusReasonCode.enum,
    ...s.SearchStatusReasonCode.enum,
    ...s.SubscribeStatusReasonCode.enum,
    ...s.UnSubscribeStatusReasonCode.enum,
  ]);
  const found = new Map<string, string>();
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (e.name.endsWith(".ts")) {
        for (const m of (await Deno.readTextFile(url)).matchAll(/"(rjct\.[a-z_]+\.[a-z_]+)"/g)) {
          found.set(m[1], url.pathname.replace(/.*\/src\//, "src/"));
        }
      }
    }
  };
  await walk(new URL("../../src/", import.meta.url));
  // rjct.processing.failed is recorded on the transaction for operators; callbacks never carry it.
  const unknown = [...found].filter(([code]) => !known.has(code) && code !== "rjct.processing.failed");
  assert.deepEqual(unknown, []);
  assert.ok(found.size > 15, "the scan found the codes");
});
