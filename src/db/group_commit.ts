/**
 * Group commit for the request path, the transaction worker and the notifier: writes asked for within one
 * event-loop turn run in one SQLite write transaction, flushed by `setImmediate` right after the turn's I/O
 * callbacks (a zero-delay `setTimeout` waits about 2 ms here). Under load the BEGIN/COMMIT and the write lock
 * are paid once per turn instead of once per write, and isolates meet on the lock that many times less often.
 * Each write runs in its own savepoint, so one that throws is undone alone and only its caller sees the error;
 * a promise resolves after the COMMIT.
 *
 * Waiting for the lock never blocks the event loop for long: a short spin covers the usual sub-millisecond
 * meeting of isolates, then the group waits on timers (so `/healthz` and reads keep answering) while later
 * writes join it. A write that has waited `waitMs` without the lock fails alone with "database is locked"
 * (answered 503); a group whose BEGIN fails otherwise fails whole. Either way the next write starts afresh.
 */
import { setImmediate } from "node:timers";
import { BUSY_TIMEOUT_MS, type Db, finishTransaction, tryBeginImmediate } from "./sqlite.ts";

interface Write {
  fn: () => unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  /** performance.now() past which this write stops waiting for the lock. */
  deadline: number;
}

interface Group {
  writes: Write[];
  /** A flush is scheduled (setImmediate) or waiting for the lock: new writes join it. */
  pending: boolean;
}

/** How long the first attempt spins for the lock before the group waits on timers, in ms. */
const SPIN_MS = 2;
/** The longest pause between two attempts while the lock is held elsewhere, in ms. */
const MAX_PAUSE_MS = 50;

const groups = new WeakMap<Db, Group>();

/**
 * Runs `fn` (synchronous SQLite writes, no transaction of its own) in this turn's shared write transaction;
 * resolves with its result once committed. `waitMs` bounds the wait for the write lock (default 5 s).
 */
export function groupCommit<T>(db: Db, fn: () => T, options: { waitMs?: number } = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let group = groups.get(db);
    if (!group) groups.set(db, group = { writes: [], pending: false });
    const deadline = performance.now() + (options.waitMs ?? BUSY_TIMEOUT_MS);
    group.writes.push({ fn, resolve: resolve as (v: unknown) => void, reject, deadline });
    if (!group.pending) {
      group.pending = true;
      const g = group;
      setImmediate(() => flush(db, g));
    }
  });
}

function flush(db: Db, group: Group): void {
  let locked: Error | undefined;
  try {
    locked = tryBeginImmediate(db, SPIN_MS);
  } catch (err) {
    return fail(group, err);
  }
  if (!locked) return commit(db, group);
  void waitForLock(db, group, locked);
}

/** Retries BEGIN on timers until it succeeds or every waiting write is past its deadline. */
async function waitForLock(db: Db, group: Group, locked: Error): Promise<void> {
  let pause = 1;
  for (;;) {
    expire(group, locked);
    if (group.writes.length === 0) {
      group.pending = false;
      return;
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, MAX_PAUSE_MS);
    if (!db.isOpen) {
      return fail(group, new Error("the database was closed while a write waited for its lock"));
    }
    try {
      const again = tryBeginImmediate(db, 0);
      // Nothing may run between a successful BEGIN and the COMMIT, so the group commits in this same step.
      if (!again) return commit(db, group);
      locked = again;
    } catch (err) {
      return fail(group, err);
    }
  }
}

/** Fails the writes that have waited past their deadline, each with a "database is locked" error. */
function expire(group: Group, locked: Error): void {
  const now = performance.now();
  const late = group.writes.filter((w) => w.deadline <= now);
  if (late.length === 0) return;
  group.writes = group.writes.filter((w) => w.deadline > now);
  const error = Object.assign(
    new Error("database is locked: another connection held the write lock for longer than this write waits", {
      cause: locked,
    }),
    { errcode: 5 },
  );
  for (const w of late) w.reject(error);
}

function fail(group: Group, err: unknown): void {
  const writes = group.writes;
  group.writes = [];
  group.pending = false;
  for (const w of writes) w.reject(err);
}

/** Runs the group's writes in the transaction just begun, then settles each one's promise. */
function commit(db: Db, group: Group): void {
  const writes = group.writes;
  group.writes = [];
  group.pending = false;
  let outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }>;
  // The error after which SQLite rolled back the whole transaction itself (a full disk while a page spilled, an
  // I/O error): the whole group fails with it, so that each caller sees what it was (a full disk answers 503 and
  // is noted for /readyz), not a generic error.
  let ended: unknown;
  const rolledBack = () => ended ?? new Error("the group's write transaction was rolled back");
  try {
    outcomes = finishTransaction(db, () => {
      const done = writes.map((w) => {
        if (!db.isTransaction) throw rolledBack();
        db.exec("SAVEPOINT group_write");
        try {
          const value = w.fn();
          db.exec("RELEASE group_write");
          return { ok: true as const, value };
        } catch (error) {
          if (db.isTransaction) db.exec("ROLLBACK TO group_write; RELEASE group_write");
          else ended = error;
          return { ok: false as const, error };
        }
      });
      if (!db.isTransaction) throw rolledBack();
      return done;
    });
  } catch (err) {
    for (const w of writes) w.reject(err);
    return;
  }
  outcomes.forEach((o, i) => o.ok ? writes[i].resolve(o.value) : writes[i].reject(o.error));
}
