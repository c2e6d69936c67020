/**
 * The replay guard and a storage fault between admission and accept: the message_id is recorded (with the rate
 * limit's count) before the transaction is stored, so an accept that meets a full disk or a held lock answers 503
 * with the message_id already seen. The copy sent again, as Retry-After invites, is accepted, because no
 * transaction was stored under it; once one is, a copy is a duplicate. Real parts on either backend (SQLite, or
 * PostgreSQL with --pg): the app, its stores; the fault is the store's write failing as a full disk fails it.
 * The held write lock itself: tests/faults/storage_fault_steps_test.ts.
 */
import { equal, match } from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage } from "../transactions/support.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { bulkForm, postBulk } from "../transactions/bulk_support.ts";

/** What a full disk answers a write, on SQLite (SQLITE_FULL) as on PostgreSQL (disk_full). */
function diskFull(): Error {
  return Object.assign(new Error("database or disk is full"), { errcode: 13, code: "53100" });
}

/** Makes the next transaction insert fail as on a full disk (the admission before it commits). */
function failNextInsert(h: Harness): void {
  const store = h.deps.storage.transactions;
  const insert = store.insert;
  store.insert = () => {
    store.insert = insert;
    return Promise.reject(diskFull());
  };
}

async function post(h: Harness, path: string, body: string) {
  const res = await h.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...h.alice.headers() },
    body,
  });
  return { status: res.status, headers: res.headers, body: await res.json() as Json };
}

async function storedUnder(h: Harness, messageId: string): Promise<number> {
  const rows = await h.deps.sql("SELECT COUNT(*) AS n FROM transactions WHERE message_id = ?", [messageId]);
  return Number((rows[0] as { n: number | string }).n);
}

Deno.test("replay guard: an async request refused 503 for storage is accepted when sent again; a stored one's copy is a duplicate", async () => {
  const h = await harness();
  try {
    const envelope = requestEnvelope(h.alice.senderId, searchMessage("t-resend"), {
      nowMs: h.deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: "https://alice.example/cb" },
    });
    const body = JSON.stringify(h.alice.sign(envelope, h.deps.clock.now()));
    const messageId = envelope.header.message_id as string;
    failNextInsert(h);
    const refused = await post(h, "/registry/search", body);
    equal(refused.status, 503, JSON.stringify(refused.body));
    equal(refused.headers.get("retry-after"), "30");
    equal(await storedUnder(h, messageId), 0);
    // Before: 409 rjct.message_id.duplicate, and the transaction was never stored.
    const again = await post(h, "/registry/search", body);
    equal(again.status, 202, JSON.stringify(again.body));
    equal(await storedUnder(h, messageId), 1);
    // Each copy that reached admission counted (as a refused signature does): the minute's quota shows two.
    const limit = h.deps.config.rateLimitMinute;
    match(again.headers.get("ratelimit") ?? "", new RegExp(`^"minute";r=${limit - 2};`));
    const third = await post(h, "/registry/search", body);
    equal(third.status, 409);
    match(third.body.message.error.message, /^rjct\.message_id\.duplicate/);
    equal(await storedUnder(h, messageId), 1);
  } finally {
    h.close();
  }
});

Deno.test("replay guard: a sync request's copy is a duplicate, its answer being stored nowhere", async () => {
  const h = await harness();
  try {
    const envelope = requestEnvelope(h.alice.senderId, searchMessage("t-sync"), {
      nowMs: h.deps.clock.now(),
      totalCount: 1,
    });
    const body = JSON.stringify(h.alice.sign(envelope, h.deps.clock.now()));
    equal((await post(h, "/registry/sync/search", body)).status, 200);
    const again = await post(h, "/registry/sync/search", body);
    equal(again.status, 409);
    equal(again.body.header.status_reason_code, "rjct.message_id.duplicate");
  } finally {
    h.close();
  }
});

Deno.test("replay guard: a sync request's copy sent to the async route is a duplicate, and nothing is stored", async () => {
  const h = await harness();
  try {
    // The signature covers the envelope, not the path: one signed search body is valid on either route.
    const envelope = requestEnvelope(h.alice.senderId, searchMessage("t-sync-to-async"), {
      nowMs: h.deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: "https://alice.example/cb" },
    });
    const body = JSON.stringify(h.alice.sign(envelope, h.deps.clock.now()));
    const messageId = envelope.header.message_id as string;
    equal((await post(h, "/registry/sync/search", body)).status, 200);
    // Before: 202, and the transaction stored and processed (the sync answer stores nothing under the id).
    const replayed = await post(h, "/registry/search", body);
    equal(replayed.status, 409, JSON.stringify(replayed.body));
    match(replayed.body.message.error.message, /^rjct\.message_id\.duplicate/);
    equal(await storedUnder(h, messageId), 0);
  } finally {
    h.close();
  }
});

Deno.test("replay guard: a bulk search upload refused 503 for storage is accepted when sent again", async () => {
  const h = await harness();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, h.app.fetch);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/registry/search`;
    const form = await bulkForm(h.alice.senderId, {
      format: "csv",
      file: "type,value\nUIN,NOBODY-1\nUIN,NOBODY-2\n",
      senderUri: "https://alice.example/cb",
      header: { message_ts: new Date(h.deps.clock.now()).toISOString() },
    });
    const messageId = /"message_id":"([^"]+)"/.exec(new TextDecoder().decode(form.bytes))![1];
    failNextInsert(h);
    const refused = await postBulk(url, h.alice, form);
    equal(refused.status, 503, JSON.stringify(refused.body));
    // Before: 409 rjct.message_id.duplicate.
    const again = await postBulk(url, h.alice, form);
    equal(again.status, 202, JSON.stringify(again.body));
    equal(await storedUnder(h, messageId), 1);
    const third = await postBulk(url, h.alice, form);
    equal(third.status, 409, JSON.stringify(third.body));
  } finally {
    await server.shutdown();
    h.close();
  }
});
