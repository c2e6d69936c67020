/**
 * A write lock held by another connection, in process: the group commit waits for it on timers and fails only
 * the writes past their wait; the worker's own steps (claims, results, callback outcomes) wait the same way; the
 * worker tries a processor that met it again under its claim, and never counts such an attempt against the
 * transaction. The real-server run is tests/faults/write_lock_test.ts.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { harness } from "../transactions/support.ts";
import { subItem } from "../subscriptions/helpers.ts";
import { type Db, openDatabase, SERVING_BUSY_TIMEOUT_MS, setBusyTimeout } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { sqliteAuditStore } from "../../src/audit/store.ts";
import { isDatabaseBusy } from "../../src/db/faults.ts";
import { groupCommit } from "../../src/db/group_commit.ts";
import { stmt } from "../../src/db/statements.ts";
import { getByCorrelationId } from "../../src/transactions/store.ts";

/** A file database and a second connection to it (another process's stand-in) that can hold its write lock. */
async function twoConnections(): Promise<{ db: Db; other: Db; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-lock-" });
  const db = openDatabase(`${dir}/t.sqlite`);
  db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)");
  const other = openDatabase(`${dir}/t.sqlite`);
  return {
    db,
    other,
    close: async () => {
      db.close();
      other.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const put = (db: Db, n: number) => () => Number(stmt(db, "INSERT INTO t VALUES (?) RETURNING n").get(n)!.n);

Deno.test("groupCommit() waits for a lock held elsewhere without blocking the event loop, then commits", async () => {
  const { db, other, close } = await twoConnections();
  try {
    other.exec("BEGIN IMMEDIATE");
    let settled = false;
    const write = groupCommit(db, put(db, 1));
    write.then(() => settled = true, () => settled = true);
    // A timer fires while the write waits (the wait yields to the event loop), and the write still waits.
    await new Promise((r) => setTimeout(r, 30));
    ok(!settled, "the write waits for the lock");
    other.exec("COMMIT");
    equal(await write, 1);
    deepEqual(other.prepare("SELECT n FROM t").all().map((r) => r.n), [1]);
  } finally {
    await close();
  }
});

Deno.test("groupCommit() fails only the writes that waited past their wait with 'database is locked'; the next write starts afresh", async () => {
  const { db, other, close } = await twoConnections();
  try {
    other.exec("BEGIN IMMEDIATE");
    const late = groupCommit(db, put(db, 1), { waitMs: 40 });
    const err = await late.then(() => undefined, (e) => e);
    ok(isDatabaseBusy(err), `expected a busy error, got ${err}`);
    other.exec("ROLLBACK");
    equal(await groupCommit(db, put(db, 2), { waitMs: 40 }), 2);
    deepEqual(other.prepare("SELECT n FROM t").all().map((r) => r.n), [2]);
  } finally {
    await close();
  }
});

/** A harness on a file database (processAttempts 1), a second connection to it, and an accepted subscribe. */
async function subscribeWithLock(overrides: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "dci-lock-" });
  // One attempt allowed: a storage fault counted as the transaction's attempt would fail it for good.
  const h = await harness({ dataDir: dir, processAttempts: "1", ...overrides });
  const other = openDatabase(`${dir}/dci.sqlite`);
  const res = await h.post("/registry/subscribe", {
    transaction_id: "t-sub",
    subscribe_request: [subItem("r1", { reg_event_type: "REGISTER" })],
  });
  equal(res.status, 202, JSON.stringify(res.body));
  const correlationId = (res.body.message as { correlation_id: string }).correlation_id;
  // The worker's synchronous waits stay short; the lock is taken while the processor runs (its URL check).
  setBusyTimeout(h.deps.db, 20);
  h.http.check = () => {
    if (!other.isTransaction) other.exec("BEGIN IMMEDIATE");
    h.http.check = () => Promise.resolve();
    return Promise.resolve();
  };
  return {
    h,
    row: () => getByCorrelationId(h.deps.db, correlationId)!,
    /** Takes the write lock now (the processor's check no longer does). */
    hold: () => {
      if (!other.isTransaction) other.exec("BEGIN IMMEDIATE");
    },
    release: () => {
      if (other.isOpen && other.isTransaction) other.exec("ROLLBACK");
    },
    close: async () => {
      other.close();
      h.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function subscribeStatuses(result: string): string[] {
  return (JSON.parse(result) as { subscribe_response: Array<{ status: string }> }).subscribe_response
    .map((i) => i.status);
}

Deno.test("worker: a processor write that meets a lock held elsewhere is tried again under its claim, not rejected", async () => {
  const t = await subscribeWithLock();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    timer = setTimeout(t.release, 100);
    await t.h.drain();
    const row = t.row();
    equal(row.state, "callback_sent", `${row.state}: ${row.process_error}`);
    equal(row.process_attempts, 1);
    deepEqual(subscribeStatuses(row.result!), ["pdng"]);
  } finally {
    clearTimeout(timer);
    t.release();
    await t.close();
  }
});

Deno.test("worker: a lock held past the claim's retries leaves the attempt uncounted, and the transaction is redone", async () => {
  const t = await subscribeWithLock({ leaseSeconds: "1" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // Held past the claim's tries (about 0.75 s with a 1 s lease), however long they take, and let go once the
    // worker lets go of the row (its release write meets the lock and waits for it).
    const txns = t.h.deps.storage.transactions;
    const releaseProcessing = txns.releaseProcessing;
    txns.releaseProcessing = (...args) => {
      timer = setTimeout(t.release, 50);
      return releaseProcessing(...args);
    };
    await t.h.drain();
    const waiting = t.row();
    equal(waiting.state, "processing", `not rejected for a lock: ${waiting.process_error}`);
    equal(waiting.process_attempts, 0, "the attempt that met the lock is not counted");
    match(waiting.process_error ?? "", /not counted.*database is locked/);
    // Once its retry time comes it is redone (the sweeper's job) and succeeds.
    t.h.deps.clock.advance(Date.parse(waiting.lease_until!) - t.h.deps.clock.now() + 1);
    await t.h.worker.handle(waiting.id);
    const row = t.row();
    equal(row.state, "callback_sent", `${row.state}: ${row.process_error}`);
    deepEqual(subscribeStatuses(row.result!), ["pdng"]);
  } finally {
    clearTimeout(timer);
    t.release();
    await t.close();
  }
});

Deno.test("worker: its claims and results wait for a lock held elsewhere on timers, the isolate free meanwhile", async () => {
  const t = await subscribeWithLock();
  // The connection's own wait, as the server opens it (subscribeWithLock shortens it), and a processor that
  // takes no lock: the lock is held from before the claim.
  setBusyTimeout(t.h.deps.db, 5000);
  t.h.http.check = () => Promise.resolve();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    t.hold();
    // Let go once the isolate's timers have ticked five times with the lock held.
    let released = false;
    timer = setInterval(() => {
      if (ticks < 5) return;
      clearInterval(timer);
      t.release();
      released = true;
    }, 5);
    // Before: the claim was a synchronous write, which waited out the busy timeout (5 s) with the event loop
    // stopped (so the release above could not run) and then failed with "database is locked".
    await t.h.drain();
    ok(released, "timers ran while the lock was held");
    const row = t.row();
    equal(row.state, "callback_sent", `${row.state}: ${row.process_error}`);
    equal(row.process_attempts, 1);
  } finally {
    clearInterval(ticker);
    clearInterval(timer);
    t.release();
    await t.close();
  }
});

Deno.test("an audit record waits for a lock held elsewhere past the serving connection's busy timeout, then commits", async () => {
  const { db, other, close } = await twoConnections();
  try {
    migrate(db);
    // A serving connection: its own statements wait 100 ms for the lock.
    setBusyTimeout(db, SERVING_BUSY_TIMEOUT_MS);
    other.exec("BEGIN IMMEDIATE");
    const recorded = sqliteAuditStore(db).record(
      { source: "api", actor: { kind: "token", id: "at_1" }, action: "sender.create" },
      Date.now(),
    );
    // Held three times as long as the busy timeout (an import batch committing), then let go.
    await new Promise((r) => setTimeout(r, 3 * SERVING_BUSY_TIMEOUT_MS));
    other.exec("COMMIT");
    ok((await recorded) > 0);
    deepEqual(other.prepare("SELECT action FROM audit_log").all().map((r) => r.action), ["sender.create"]);
  } finally {
    await close();
  }
});

Deno.test("groupCommit(): a write after which SQLite rolled the transaction back fails the whole group with its own error", async () => {
  const { db, close } = await twoConnections();
  try {
    const full = Object.assign(new Error("database or disk is full"), { errcode: 13 });
    for (const last of [false, true]) {
      // The failing write first, then another; or last of the group (its COMMIT finds no transaction).
      const failing = () => {
        db.exec("ROLLBACK"); // as SQLite does after SQLITE_FULL on a page spill
        throw full;
      };
      const writes = last
        ? [groupCommit(db, put(db, 3)), groupCommit(db, failing)]
        : [groupCommit(db, failing), groupCommit(db, put(db, 4))];
      const errors = await Promise.all(writes.map((w) => w.then(() => undefined, (e) => e)));
      for (const e of errors) equal(e, full);
      deepEqual(db.prepare("SELECT n FROM t").all(), [], "nothing committed");
    }
  } finally {
    await close();
  }
});
