import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { saveBareTransaction } from "./support.ts";
import { purgeFinishedWork, RETENTION_SCHEDULES } from "../../src/transactions/retention.ts";
import { schedulesFor } from "../../src/jobs/schedules.ts";
import { attemptArgs, INSERT_ATTEMPT } from "../../src/transactions/attempts.ts";
import { callbackAttempt, notificationRow } from "../helpers/txn_rows.ts";
import { INSERT_RESULT } from "../../src/transactions/txn_sql.ts";

const DAY = 86_400_000;

/**
 * A transaction of `t` created `age` days ago, in `state`, last changed `changed` days ago, with a ref, an attempt
 * and a result.
 */
async function txn(deps: TestDeps, t: string, state: string, age: number, changed = age): Promise<number> {
  const at = (days: number) => new Date(deps.clock.now() - days * DAY).toISOString();
  const id = await saveBareTransaction(deps, "alice", t, at(age));
  await deps.sql("UPDATE transactions SET state = ?, updated_at = ? WHERE id = ?", [state, at(changed), id]);
  await deps.sql("INSERT INTO transaction_refs (sender_id, reference_id, txn) VALUES ('alice', ?, ?)", [
    `ref-${t}`,
    id,
  ]);
  await deps.sql(
    INSERT_ATTEMPT,
    attemptArgs(id, callbackAttempt(at(changed))),
  );
  await deps.sql(INSERT_RESULT, [id, "{}"]);
  return id;
}

/** A notification `n` of a fresh subscription, created `age` days ago, in `status`. */
const notification = (deps: TestDeps, n: string, status: string, age: number) =>
  notificationRow(deps.sql, n, status, new Date(deps.clock.now() - age * DAY).toISOString());

const count = async (deps: TestDeps, sql: string) => Number((await deps.sql(sql))[0].n);
const column = async (deps: TestDeps, sql: string) => (await deps.sql(sql)).map((r) => Object.values(r)[0]);

Deno.test("purgeFinishedWork() deletes finished transactions past retention with their refs, attempts and results, keeps open and recent ones", async () => {
  const deps = await testDeps({ transactionRetentionDays: "30", notificationRetentionDays: "30" });
  try {
    await txn(deps, "old-sent", "callback_sent", 40);
    await txn(deps, "old-failed", "callback_failed", 31);
    await txn(deps, "old-but-retried", "callback_sent", 40, 2); // an operator retried it two days ago
    await txn(deps, "old-pending", "pending", 400); // not finished: never deleted
    await txn(deps, "young-sent", "callback_sent", 29);
    const run = await purgeFinishedWork(deps);
    assert.deepEqual(run, { transactions: 2, notifications: 0, events: 0, subscriptions: 0, imports: 0 });
    assert.deepEqual(await column(deps, "SELECT transaction_id FROM transactions ORDER BY transaction_id"), [
      "old-but-retried",
      "old-pending",
      "young-sent",
    ]);
    // The cascade took the deleted ones' references, attempts and results, and only theirs.
    assert.equal(await count(deps, "SELECT count(*) AS n FROM transaction_refs"), 3);
    assert.equal(await count(deps, "SELECT count(*) AS n FROM callback_attempts"), 3);
    assert.equal(await count(deps, "SELECT count(*) AS n FROM transaction_results"), 3);
    assert.deepEqual(await purgeFinishedWork(deps), {
      transactions: 0,
      notifications: 0,
      events: 0,
      subscriptions: 0,
      imports: 0,
    });
  } finally {
    deps.close();
  }
});

Deno.test("purgeFinishedWork() deletes delivered, failed and received notifications past retention, never pending ones", async () => {
  const deps = await testDeps({ notificationRetentionDays: "7" });
  try {
    await notification(deps, "sent-old", "sent", 8);
    await notification(deps, "failed-old", "failed", 30);
    await notification(deps, "received-old", "received", 9);
    await notification(deps, "pending-old", "pending", 90); // held or waiting for a retry
    await notification(deps, "sent-young", "sent", 6);
    assert.deepEqual(await purgeFinishedWork(deps), {
      transactions: 0,
      notifications: 3,
      events: 0,
      subscriptions: 0,
      imports: 0,
    });
    assert.deepEqual(
      await column(deps, "SELECT notification_id FROM notifications ORDER BY notification_id"),
      [
        "pending-old",
        "sent-young",
      ],
    );
  } finally {
    deps.close();
  }
});

/** A subscription `code` in `state`, created `age` days ago and ended `ended` days ago (none: not ended). */
async function subscription(deps: TestDeps, code: string, state: string, age: number, ended?: number) {
  const at = (days: number) => new Date(deps.clock.now() - days * DAY).toISOString();
  const [row] = await deps.sql(
    `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
       dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at, ended_at)
     VALUES (?, 'alice', 'social', 'registration', 'person', 'Person', ?, 'https://a.example/n', ?, ?, ?, ?, ?, ?)
     RETURNING id`,
    [
      code,
      `d-${code}`,
      state,
      `c-${code}`,
      `r-${code}`,
      at(age),
      at(ended ?? age),
      ended === undefined ? null : at(ended),
    ] as Array<string | number>,
  );
  return Number(row.id);
}

/** A registry import job in `state`, created `age` days ago and finished `finished` days ago, with `rejects` rows. */
async function importJob(
  deps: TestDeps,
  name: string,
  state: string,
  age: number,
  finished?: number,
  rejects = 0,
) {
  const at = (days: number) => new Date(deps.clock.now() - days * DAY).toISOString();
  const [row] = await deps.sql(
    `INSERT INTO registry_imports (registry, format, file_name, bytes, spool_file, state, created_at, finished_at)
     VALUES ('social', 'csv', ?, 10, ?, ?, ?, ?) RETURNING id`,
    [name, `spool-${name}`, state, at(age), finished === undefined ? null : at(finished)] as Array<
      string | number
    >,
  );
  for (let i = 0; i < rejects; i++) {
    await deps.sql(
      "INSERT INTO registry_import_rejects (import_id, seq, line, reason) VALUES (?, ?, ?, 'bad')",
      [
        Number(row.id),
        i,
        i + 2,
      ],
    );
  }
}

Deno.test("purgeFinishedWork() deletes ended subscriptions past retention once no notification is left, and finished import jobs with their rejected rows", async () => {
  const deps = await testDeps({ subscriptionRetentionDays: "30", importRetentionDays: "30" });
  try {
    await subscription(deps, "cancelled-old", "cancelled", 100, 40);
    await subscription(deps, "expired-old", "expired", 100, 31);
    const held = await subscription(deps, "cancelled-old-notified", "cancelled", 100, 40);
    await subscription(deps, "cancelled-young", "cancelled", 100, 29);
    await subscription(deps, "active-old", "active", 400);
    await subscription(deps, "error-old", "error", 400);
    await subscription(deps, "pending-old", "pending", 400);
    // A notification of an ended subscription, not yet past its own retention, holds the subscription.
    await deps.sql(
      `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
         record_count, message_id, status, next_attempt_at, created_at, updated_at)
       VALUES ('n-held', ?, 1, 'registration', 'person', 1, 'm-held', 'sent', ?, ?, ?)`,
      [held, ...Array(3).fill(new Date(deps.clock.now() - 45 * DAY).toISOString())],
    );
    await importJob(deps, "done-old", "done", 100, 40, 2);
    await importJob(deps, "failed-old", "failed", 100, 31, 1);
    await importJob(deps, "done-young", "done", 100, 29, 1);
    await importJob(deps, "queued-old", "queued", 400);
    await importJob(deps, "running-old", "running", 400);
    const run = await purgeFinishedWork(deps);
    assert.deepEqual(run, { transactions: 0, notifications: 0, events: 0, subscriptions: 2, imports: 2 });
    assert.deepEqual(await column(deps, "SELECT code FROM subscriptions ORDER BY code"), [
      "active-old",
      "cancelled-old-notified",
      "cancelled-young",
      "error-old",
      "pending-old",
    ]);
    assert.deepEqual(await column(deps, "SELECT file_name FROM registry_imports ORDER BY file_name"), [
      "done-young",
      "queued-old",
      "running-old",
    ]);
    assert.equal(
      await count(deps, "SELECT count(*) AS n FROM registry_import_rejects"),
      1,
      "the rejects went along",
    );
  } finally {
    deps.close();
  }
});

Deno.test("purgeFinishedWork() deletes ended subscriptions past one chunk, in id order, stepping over those that stay", async () => {
  const deps = await testDeps({ subscriptionRetentionDays: "30" });
  try {
    const at = (days: number) => new Date(deps.clock.now() - days * DAY).toISOString();
    // 4,200 ended subscriptions, every other one ended too recently to go: 2,100 go, in two chunks and a bit.
    await deps.sql(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4200)
       INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
         dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at, ended_at)
       SELECT 'bulk-' || i, 'alice', 'social', 'registration', 'person', 'Person', 'd-' || i, 'https://a.example/n',
         'cancelled', 'c-' || i, 'r-' || i, ?, ?, CASE WHEN i % 2 = 0 THEN ? ELSE ? END FROM n`,
      [at(100), at(100), at(40), at(10)],
    );
    const run = await purgeFinishedWork(deps);
    assert.equal(run.subscriptions, 2_100);
    assert.equal(await count(deps, "SELECT count(*) AS n FROM subscriptions"), 2_100);
    assert.equal(
      await count(deps, "SELECT count(*) AS n FROM subscriptions WHERE ended_at < '" + at(30) + "'"),
      0,
    );
  } finally {
    deps.close();
  }
});

Deno.test("purgeFinishedWork() keeps everything when the retention is 0 days", async () => {
  const deps = await testDeps({
    transactionRetentionDays: "0",
    notificationRetentionDays: "0",
    subscriptionRetentionDays: "0",
    importRetentionDays: "0",
  });
  try {
    await txn(deps, "ancient", "callback_sent", 5000);
    await notification(deps, "ancient", "sent", 5000);
    await subscription(deps, "ancient-ended", "cancelled", 5000, 5000);
    await importJob(deps, "ancient", "done", 5000, 5000);
    assert.deepEqual(await purgeFinishedWork(deps), {
      transactions: 0,
      notifications: 0,
      events: 0,
      subscriptions: 0,
      imports: 0,
    });
    assert.equal(await count(deps, "SELECT count(*) AS n FROM transactions"), 1);
    assert.equal(await count(deps, "SELECT count(*) AS n FROM subscriptions"), 2);
    assert.equal(await count(deps, "SELECT count(*) AS n FROM registry_imports"), 1);
  } finally {
    deps.close();
  }
});

Deno.test("the retention job is a daily cron schedule of the worker, deleting in chunks past one chunk", async () => {
  const deps = await testDeps({ transactionRetentionDays: "1" });
  try {
    const entry = schedulesFor(deps.config).find((s) => s.name === "transaction-retention");
    assert.ok(entry, "transaction-retention is scheduled");
    assert.equal(entry.schedule, RETENTION_SCHEDULES[0].schedule);
    for (let i = 0; i < 2_100; i++) {
      await saveBareTransaction(deps, "alice", `t-${i}`, "2020-01-01T00:00:00.000Z");
    }
    await deps.sql("UPDATE transactions SET state = 'callback_sent'");
    await entry.run(deps);
    assert.equal(await count(deps, "SELECT count(*) AS n FROM transactions"), 0);
  } finally {
    deps.close();
  }
});
