/** Deleting and offboarding a sender: its work in other areas' tables, on both backends, two instances each. */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { instancesTest, senderDeps, type TwoInstances } from "../helpers/two_instances.ts";
import { SenderError } from "../../src/senders/errors.ts";
import { getSender } from "../../src/senders/store.ts";
import { deleteSender, disableSender, enableSender } from "../../src/senders/offboarding.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const refusedAs = (kind: string) => (e: unknown) => e instanceof SenderError && e.kind === kind;

/**
 * A sender with a live subscription (n − 1 notifications waiting, one sent), an ended one (n sent) and an open
 * and a closed transaction.
 */
async function seedWork(t: TwoInstances, senderId: string, n: number): Promise<void> {
  await t.a.senders.insert(senderId, { name: senderId, created_at: NOW, updated_at: NOW });
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
    // Its waiting notifications were counted, not written: they fail after it, with the reason (either instance).
    const failed = () =>
      count("SELECT COUNT(*) AS n FROM notifications WHERE status = 'failed' AND last_error = ?", reason);
    equal(await failed(), 0);
    equal(await t.a.notifications.failEnded(Number(sub.id), later, 2000), 2);
    equal(await failed(), 2);
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
