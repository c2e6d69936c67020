/**
 * The console's data lists through the admin API: registry search by id, identifier or family name (keyset on
 * surname and row id), a registry's recent change events newest first, and keyset paging with the new filters of
 * transactions (registry, time), subscriptions (registry) and the notification log.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";

type Json = Record<string, unknown>;

async function setup() {
  const deps = await testDeps();
  const app = createApp(deps);
  const { token } = await deps.storage.adminTokens.create({ role: "admin" });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(method === "GET" ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as Json };
  };
  return { deps, call };
}

/** Every page of a keyset list, following `cursorField` into `param`. */
async function allPages(
  call: (m: string, p: string) => Promise<{ status: number; body: Json }>,
  path: string,
  cursorField: string,
  param: string,
  itemsField = "items",
): Promise<Json[][]> {
  const pages: Json[][] = [];
  let cursor: unknown = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const r = await call(
      "GET",
      `${path}${cursor === null ? "" : `${sep}${param}=${encodeURIComponent(String(cursor))}`}`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pages.push(r.body[itemsField] as Json[]);
    cursor = r.body[cursorField];
  } while (cursor !== null && pages.length < 50);
  return pages;
}

Deno.test("registry search finds by id, identifier value or family name prefix, and pages by name without gaps", async () => {
  const { deps, call } = await setup();
  try {
    const surnames = ["Banda", "banda", "Bandawe", "Phiri", "Banda", "Bandeira", "Mwale", "BANDA"];
    for (const [i, surname] of surnames.entries()) {
      const created = await call("POST", "/registries/social/registrants", {
        id: `P${i}`,
        identifier: [{ identifier_type: "UIN", identifier_value: `UIN-${i}` }],
        name: { given_name: i % 2 ? "Chisomo" : "Thandiwe", surname },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    await call("DELETE", "/registries/social/registrants/P4");
    const ids = (items: Json[]) => items.map((i) => i.id);
    const q = (text: string, extra = "") =>
      call("GET", `/registries/social/registrants?q=${encodeURIComponent(text)}${extra}`);

    assert.deepEqual(ids((await q("P3")).body.items as Json[]), ["P3"], "by id");
    assert.deepEqual(ids((await q("UIN-6")).body.items as Json[]), ["P6"], "by identifier value");
    const banda = await q("banda");
    assert.deepEqual(
      ids(banda.body.items as Json[]),
      ["P0", "P1", "P7", "P2"],
      "surname prefix, any case, name then row order; the deleted one left out",
    );
    assert.equal(banda.body.next_after, null);
    assert.deepEqual(
      ids((await q("Chisomo banda")).body.items as Json[]),
      ["P1", "P7"],
      "given + surname",
    );
    assert.deepEqual((await q("zz")).body.items, []);
    assert.equal((await q("x".repeat(101))).status, 400);

    const pages = await allPages(
      call,
      "/registries/social/registrants?q=band&limit=2",
      "next_after",
      "after",
    );
    assert.deepEqual(pages.map(ids), [["P0", "P1"], ["P7", "P2"], ["P5"]]);
    const record = (banda.body.items as Json[])[0];
    assert.equal((record.record as Json)["@type"] !== undefined, true, "items carry the JSON-LD record");

    const recent = await allPages(
      call,
      "/registries/social/events?recent=true&limit=3",
      "next_before",
      "before",
      "events",
    );
    const types = recent.flat().map((e) => `${e.event_type ?? e.eventType}`);
    assert.equal(types.length, 9, "8 registrations and a delete");
    assert.equal(types[0], "delete", "newest first");
    const eventIds = recent.flat().map((e) => Number(e.id));
    assert.deepEqual(eventIds, [...eventIds].sort((a, b) => b - a));
  } finally {
    deps.close();
  }
});

Deno.test("transaction, subscription and notification lists page by keyset with their filters", async () => {
  const { deps, call } = await setup();
  try {
    const alice = await createTestSender(deps);
    const t0 = Date.parse("2026-04-01T00:00:00Z");
    for (let i = 0; i < 12; i++) {
      await deps.storage.transactions.insert({
        sender_id: alice.senderId,
        transaction_id: `t-${i}`,
        dedupe_key: `t-${i}`,
        message_id: `m-${i}`,
        correlation_id: crypto.randomUUID(),
        action: "search",
        registry: i % 3 === 0 ? "crvs" : "social",
        callback_url: "https://alice.example/cb/on-search",
        request_header: "{}",
        request_message: "{}",
        ack: "{}",
        reference_ids: [],
        now: new Date(t0 + i * 3_600_000).toISOString(),
      });
    }
    const pages = await allPages(call, "/transactions?limit=5", "next_before", "before");
    assert.deepEqual(pages.map((p) => p.length), [5, 5, 2]);
    assert.deepEqual(
      pages.flat().map((t) => t.transaction_id),
      Array.from({ length: 12 }, (_, i) => `t-${11 - i}`),
    );
    const crvs = (await call("GET", "/transactions?registry=crvs")).body.items as Json[];
    assert.deepEqual(crvs.map((t) => t.transaction_id), ["t-9", "t-6", "t-3", "t-0"]);
    const window = await call(
      "GET",
      `/transactions?since=${new Date(t0 + 2 * 3_600_000).toISOString()}&until=${
        new Date(t0 + 5 * 3_600_000).toISOString()
      }`,
    );
    assert.deepEqual((window.body.items as Json[]).map((t) => t.transaction_id), ["t-4", "t-3", "t-2"]);

    // s-5: of a deployment's own registry (startServer's `registries`), filtered by its name as the others are.
    for (let i = 0; i < 6; i++) {
      await deps.sql(
        `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
           dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
         VALUES (?, ?, ?, 'registration', 'person', 'Person', ?, 'https://a.example/n', 'active', ?, ?, ?, ?)`,
        [
          `s-${i}`,
          alice.senderId,
          i === 5 ? "agri" : i % 2 ? "crvs" : "social",
          `d-${i}`,
          `c-${i}`,
          `s-${i}`,
          "2026-04-01T00:00:00Z",
          "2026-04-01T00:00:00Z",
        ],
      );
    }
    const subs = await allPages(call, "/subscriptions?limit=2", "next_before", "before");
    assert.deepEqual(subs.flat().map((s) => s.code), ["s-5", "s-4", "s-3", "s-2", "s-1", "s-0"]);
    const crvsSubs = (await call("GET", "/subscriptions?registry=crvs")).body.items as Json[];
    assert.deepEqual(crvsSubs.map((s) => s.code), ["s-3", "s-1"]);
    const agriSubs = (await call("GET", "/subscriptions?registry=agri")).body.items as Json[];
    assert.deepEqual(agriSubs.map((s) => s.code), ["s-5"]);

    const subId = Number((await deps.sql("SELECT id FROM subscriptions WHERE code = 's-0'"))[0].id);
    for (let i = 0; i < 7; i++) {
      const at = new Date(t0 + i * 60_000).toISOString();
      await deps.sql(
        `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
           record_count, message_id, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, 'registration', 'person', 1, ?, ?, ?, ?, ?)`,
        [`n-${i}`, subId, i + 1, `nm-${i}`, i % 2 ? "sent" : "failed", at, at, at],
      );
    }
    const log = await allPages(call, "/notifications?limit=3&status=failed", "next_before", "before");
    assert.deepEqual(log.flat().map((n) => n.notification_id), ["n-6", "n-4", "n-2", "n-0"]);
  } finally {
    deps.close();
  }
});
