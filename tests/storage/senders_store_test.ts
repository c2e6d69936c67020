/** The sender store, the same contract on both backends (and the sender services over it). */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { instancesTest, senderDeps, type TwoInstances } from "../helpers/two_instances.ts";
import { SenderError } from "../../src/senders/errors.ts";
import type { SenderColumns } from "../../src/senders/sender_store.ts";
import { addSender, getSender, listSenders, setSenderActive, updateSender } from "../../src/senders/store.ts";
import { pageSenders } from "../../src/senders/listing.ts";
import { deleteSender, disableSender, enableSender } from "../../src/senders/offboarding.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const cols = (extra: SenderColumns = {}): SenderColumns => ({
  name: "n",
  created_at: NOW,
  updated_at: NOW,
  ...extra,
});
const refusedAs = (kind: string, re?: RegExp) => (e: unknown) =>
  e instanceof SenderError && e.kind === kind && (!re || re.test(e.message));

backendTest("sender store: a row comes back with the same values and types on both backends", async (s) => {
  const row = await s.senders.insert(
    "partner.example",
    cols({ limit_minute: 60, auto_approve_subscriptions: 1 }),
  );
  deepEqual(await s.senders.get("partner.example"), row);
  const expected: Record<string, unknown> = {
    sender_id: "partner.example",
    name: "n",
    active: 1,
    callback_base_url: null,
    jwks_url: null,
    limit_minute: 60,
    limit_day: null,
    auto_approve_subscriptions: 1,
    keys_version: 0,
    jwks_fetched_at: null,
    jwks_fetch_status: null,
    jwks_fetch_error: null,
    created_at: NOW,
    updated_at: NOW,
    signature_policy: null,
    signature_max_window_s: null,
    test_mode: 0,
    lenient: "",
    callback_url_mode: "append",
    outbound_auth: "none",
    outbound_token_url: null,
    outbound_client_id: null,
    outbound_scope: null,
    outbound_secret: null,
  };
  deepEqual({ ...row }, expected);
  equal(await s.senders.get("nobody"), undefined);
  // A column name that is not a sender column never reaches SQL.
  await rejects(() => s.senders.insert("x", { "name) VALUES ('a'); --": "x" }), /no writable column/);
  await rejects(() => s.senders.update("partner.example", { keys_version: 9 }), /no writable column/);
});

backendTest(
  "sender store: list and pages are in binary id order; ids differing by case alone conflict",
  async (s) => {
    for (const id of ["b.example", "B.example", "_x", "a.example", "Z"]) {
      if (id === "B.example") {
        await rejects(
          () => s.senders.insert(id, cols()),
          refusedAs("conflict", /"B.example" differs only by case from the existing sender "b.example"/),
        );
        continue;
      }
      await s.senders.insert(id, cols({ name: `Name of ${id}` }));
    }
    await rejects(() => s.senders.insert("Z", cols()), refusedAs("conflict", /"Z" already exists/));
    deepEqual((await s.senders.list()).map((r) => r.sender_id), ["Z", "_x", "a.example", "b.example"]);
    const page = await s.senders.page({ pattern: null, active: null, after: "Z", limit: 2 });
    deepEqual(page.map((r) => r.sender_id), ["_x", "a.example"]);
    deepEqual(
      (await s.senders.page({ pattern: null, active: null, after: "a.example", limit: 9 })).map((r) =>
        r.sender_id
      ),
      [
        "b.example",
      ],
    );
  },
);

backendTest(
  "sender store: page filters by id or name, case-insensitively, with % and _ as plain text",
  async (s) => {
    await s.senders.insert("alpha.example", cols({ name: "Ministry of Health" }));
    await s.senders.insert("beta.example", cols({ name: "100% Fund", active: 0 }));
    await s.senders.insert("gamma_x", cols({ name: "g" }));
    await s.senders.insert("gammaXx", cols({ name: "g" }));
    const ids = async (pattern: string | null, active: 0 | 1 | null = null) =>
      (await s.senders.page({ pattern, active, after: "", limit: 10 })).map((r) => r.sender_id);
    deepEqual(await ids("%HEALTH%"), ["alpha.example"]);
    deepEqual(await ids("%ALPHA%"), ["alpha.example"]);
    deepEqual(await ids("%\\%%"), ["beta.example"]);
    deepEqual(await ids("%a\\_x%"), ["gamma_x"]);
    deepEqual(await ids(null, 0), ["beta.example"]);
    // Binary order: "X" (0x58) sorts before "_" (0x5f), whatever the database's collation.
    deepEqual(await ids(null, 1), ["alpha.example", "gammaXx", "gamma_x"]);
    deepEqual(await ids("%example%", 1), ["alpha.example"]);
    // The service escapes what an operator types the same way.
    const deps = senderDeps(s);
    deepEqual((await pageSenders(deps, { search: "_x" })).senders.map((x) => x.sender_id), ["gamma_x"]);
    const first = await pageSenders(deps, { limit: 2 });
    deepEqual(first.senders.map((x) => x.sender_id), ["alpha.example", "beta.example"]);
    equal(first.next, "beta.example");
    equal((await pageSenders(deps, { limit: 2, after: first.next })).next, undefined);
  },
);

backendTest(
  "sender store: update writes the given columns and returns the row; an unknown sender is undefined",
  async (s) => {
    await s.senders.insert("s1", cols());
    const row = await s.senders.update("s1", {
      name: "New",
      limit_day: 5,
      updated_at: "2026-01-02T00:00:00.000Z",
    });
    equal(row!.name, "New");
    equal(row!.limit_day, 5);
    equal(row!.updated_at, "2026-01-02T00:00:00.000Z");
    equal(await s.senders.update("nobody", { name: "x" }), undefined);
    equal(await s.senders.standing("s1"), "active");
    await s.senders.update("s1", { active: 0 });
    equal(await s.senders.standing("s1"), "disabled");
    equal(await s.senders.standing("nobody"), "deleted");
    deepEqual(await s.senders.outboundAuth("s1"), {
      outbound_auth: "none",
      outbound_token_url: null,
      outbound_client_id: null,
      outbound_scope: null,
      outbound_secret: null,
    });
    equal(await s.senders.outboundAuth("nobody"), undefined);
  },
);

backendTest(
  "sender services: add, update, enable and disable read and write through the store",
  async (s) => {
    const deps = senderDeps(s);
    const added = await addSender(deps, "partner.example", { name: "Partner", limit_minute: 7 });
    equal(added.active, true);
    equal(added.limit_minute, 7);
    equal(added.limit_day, deps.config.rateLimitDay);
    equal(added.auto_approve_subscriptions, false);
    await rejects(() => addSender(deps, "PARTNER.example", {}), refusedAs("conflict"));
    await rejects(() => addSender(deps, "bad id", {}), refusedAs("invalid"));
    const updated = await updateSender(deps, "partner.example", {
      auto_approve_subscriptions: true,
      test_mode: true,
      lenient: ["total_count"],
      limit_minute: null,
    });
    equal(updated.auto_approve_subscriptions, true);
    equal(updated.test_mode, true);
    deepEqual(updated.lenient, ["total_count"]);
    equal(updated.limit_minute, deps.config.rateLimitMinute);
    await rejects(() => updateSender(deps, "nobody", { name: "x" }), refusedAs("not_found"));
    equal((await setSenderActive(deps, "partner.example", false)).active, false);
    await rejects(() => setSenderActive(deps, "nobody", false), refusedAs("not_found"));
    deepEqual(await getSender(deps, "partner.example"), (await listSenders(deps))[0]);
  },
);

/**
 * A sender with a live subscription (n − 1 notifications waiting, one sent), an ended one (n sent) and an open
 * and a closed transaction.
 */
async function seedWork(t: TwoInstances, senderId: string, n: number): Promise<void> {
  await t.a.senders.insert(senderId, cols());
  await t.exec("INSERT INTO rate_days (sender_id, day, count) VALUES (?, '2026-01-01', 3)", senderId);
  for (const [i, state] of [[1, "active"], [2, "cancelled"]] as const) {
    const code = `${senderId}-sub${i}`;
    await t.exec(
      `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
         dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
       VALUES (?, ?, 'social', 'update', 'person', 'person', ?, 'https://x.example/cb', ?, ?, 'r', ?, ?)`,
      code,
      senderId,
      code,
      state,
      code,
      NOW,
      NOW,
    );
    const { id } = (await t.one<{ id: number }>("SELECT id FROM subscriptions WHERE code = ?", code))!;
    for (let e = 1; e <= n; e++) {
      await t.exec(
        `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
           record_count, message_id, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, 'update', 'person', 1, ?, ?, ?, ?, ?)`,
        `${code}-n${e}`,
        id,
        e,
        `${code}-m${e}`,
        state === "active" && e < n ? "pending" : "sent",
        NOW,
        NOW,
        NOW,
      );
    }
  }
  for (const state of ["pending", "callback_sent"]) {
    const c = `${senderId}-${state}`;
    await t.exec(
      `INSERT INTO transactions (sender_id, transaction_id, dedupe_key, message_id, correlation_id, action,
         registry, callback_url, request_header, request_message, ack, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'search', 'social', 'https://x.example/cb', '{}', '{}', '{}', ?, ?, ?)`,
      senderId,
      c,
      c,
      c,
      c,
      state,
      NOW,
      NOW,
    );
  }
}

instancesTest(
  "sender store: delete removes the sender and cancels its work in one transaction, nobody else's",
  async (t) => {
    await seedWork(t, "gone", 3);
    await seedWork(t, "stays", 2);
    await t.exec(
      `INSERT INTO sender_keys (sender_id, key_id, alg, public_jwk, source, created_at)
     VALUES ('gone', 'k1', 'ed25519', '{}', 'manual', ?)`,
      NOW,
    );
    await t.exec(
      `INSERT INTO oauth_clients (client_id, sender_id, secret_hash, scopes, created_at)
     VALUES ('c1', 'gone', '{}', 'registry.search', ?)`,
      NOW,
    );
    deepEqual(await t.b.senders.work("gone"), { subscriptions: 1, notifications: 2, transactions: 1 });
    const ids = await t.b.senders.openTransactionIds("gone", 10);
    equal(ids.length, 1);
    equal(typeof ids[0], "number");

    const reason = 'cancelled: sender "gone" was deleted';
    const later = "2026-01-02T00:00:00.000Z";
    deepEqual(await t.b.senders.delete("gone", reason, later), {
      subscriptions: 1,
      notifications: 2,
      transactions: 1,
    });
    equal(await t.a.senders.get("gone"), undefined);
    equal(await t.b.senders.delete("gone", reason, later), undefined);
    const count = async (sql: string, ...v: string[]) => Number((await t.one<{ n: number }>(sql, ...v))!.n);
    equal(await count("SELECT COUNT(*) AS n FROM sender_keys WHERE sender_id = 'gone'"), 0);
    equal(await count("SELECT COUNT(*) AS n FROM oauth_clients WHERE sender_id = 'gone'"), 0);
    equal(await count("SELECT COUNT(*) AS n FROM rate_days"), 1);
    const sub =
      (await t.one<Record<string, string>>("SELECT * FROM subscriptions WHERE code = 'gone-sub1'"))!;
    deepEqual([sub.state, sub.cancelled_by, sub.last_error, sub.ended_at], [
      "cancelled",
      "sender-deleted",
      reason,
      later,
    ]);
    equal(
      await count(
        "SELECT COUNT(*) AS n FROM notifications WHERE status = 'failed' AND last_error = ?",
        reason,
      ),
      2,
    );
    const txn = (await t.one<Record<string, string>>(
      "SELECT * FROM transactions WHERE correlation_id = 'gone-pending'",
    ))!;
    deepEqual([txn.state, txn.last_error, txn.completed_at], ["callback_failed", reason, later]);
    equal(
      (await t.one<{ state: string }>(
        "SELECT state FROM transactions WHERE correlation_id = 'gone-callback_sent'",
      ))!
        .state,
      "callback_sent",
    );
    // The other sender's work is untouched.
    deepEqual(await t.a.senders.work("stays"), { subscriptions: 1, notifications: 1, transactions: 1 });
  },
);

instancesTest("sender store: a delete that fails part-way changes nothing", async (t) => {
  await seedWork(t, "gone", 2);
  // A trigger refuses the last write of the delete (the transactions update): everything before it rolls back.
  if (t.kind === "sqlite") {
    await t.exec(
      `CREATE TRIGGER refuse BEFORE UPDATE ON transactions BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    );
  } else {
    await t.exec(
      `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
    );
    await t.exec(
      `CREATE TRIGGER refuse BEFORE UPDATE ON transactions FOR EACH ROW EXECUTE FUNCTION refuse()`,
    );
  }
  await rejects(() => t.b.senders.delete("gone", "r", NOW), /refused/);
  ok(await t.a.senders.get("gone"));
  deepEqual(await t.a.senders.work("gone"), { subscriptions: 1, notifications: 1, transactions: 1 });
  equal(Number((await t.one<{ n: number }>("SELECT COUNT(*) AS n FROM rate_days"))!.n), 1);
});

instancesTest(
  "sender store: two instances adding ids differing by case at once: exactly one is registered",
  async (t) => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        t.a.senders.insert(`race${round}.example`, cols()),
        t.b.senders.insert(`RACE${round}.example`, cols()),
      ]);
      equal(results.filter((r) => r.status === "fulfilled").length, 1, `round ${round}`);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      ok(refusedAs("conflict")(refused.reason), String(refused.reason));
    }
    equal((await t.a.senders.list()).length, 5);
  },
);

instancesTest(
  "offboarding services: disable holds, enable lists what resumes, delete cancels (other instance sees it)",
  async (t) => {
    await seedWork(t, "p", 2);
    const a = senderDeps(t.a);
    const b = senderDeps(t.b);
    const woken: unknown[] = [];
    const notifierWakes: unknown[] = [];
    (a as { queue?: unknown }).queue = {
      enqueue: (m: unknown) => Promise.resolve(void woken.push(m)),
      wake: (m: unknown) => void notifierWakes.push(m),
    };
    const { sender, held } = await disableSender(a, "p");
    equal(sender.active, false);
    deepEqual(held, { subscriptions: 1, notifications: 1, transactions: 1 });
    equal(await t.b.senders.standing("p"), "disabled");
    const enabled = await enableSender(a, "p");
    equal(enabled.sender.active, true);
    deepEqual(enabled.resumed, { subscriptions: 1, notifications: 1, transactions: 1 });
    // The worker is woken for the one open transaction, by id, and the notifier once.
    equal(woken.length, 1);
    equal(notifierWakes.length, 1);
    deepEqual(await deleteSender(b, "p"), { subscriptions: 1, notifications: 1, transactions: 1 });
    await rejects(() => deleteSender(a, "p"), refusedAs("not_found"));
    equal(await getSender(a, "p"), undefined);
  },
);
