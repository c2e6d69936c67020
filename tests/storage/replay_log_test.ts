/**
 * SQLite's replay guard as an append-only log with an index in memory per connection (migration 0037,
 * src/auth/replay.ts): exact across connections on one data dir (HTTP isolates, processes), after a restart
 * (a load of several chunks, and one that fails and is tried again), after a connection sat idle while others
 * appended, after a rolled-back write whose seq another connection then takes, and when every message id shares
 * one hash; a connection that only catches up keeps no more than the window's rows, and a restart after a long
 * stop reads none of the expired ones; a batch the group commit rolls back leaves no replay, and one whose
 * transaction SQLite rolled back fails whole; and migration 0037 carrying the keyed table's records over.
 */
import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { type Db, openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import {
  type AdmissionRequest,
  type RateLimitStore,
  sqliteRateLimitStore,
} from "../../src/senders/limits_store.ts";
import { replayIndexStats, replayReady, replayWrite, useReplayHash } from "../../src/auth/replay.ts";
import { countSenderRequests } from "../../src/senders/rate_limit.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const WINDOW_MS = 600_000;

function request(messageId: string, senderId = "s1"): AdmissionRequest {
  return { senderId, limits: { minute: 100_000, day: 1_000_000 }, messageId, replayWindowMs: WINDOW_MS };
}

/** "counted", or the replayed kind. */
async function admit(
  store: RateLimitStore,
  messageId: string,
  atMs: number,
  senderId = "s1",
): Promise<string> {
  const o = await store.admit(request(messageId, senderId), atMs);
  if ("replayed" in o) return `replayed ${o.replayed}`;
  if ("error" in o) throw o.error;
  return "counted";
}

/** `fn` with connections on one fresh data dir's database (`open()` opens one more, as an isolate would). */
async function withDataDir(fn: (open: () => Db) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dci-replay-log-" });
  const opened: Db[] = [];
  const open = () => {
    const db = openDatabase(`${dir}/dci.sqlite`);
    opened.push(db);
    return db;
  };
  try {
    migrate(open());
    await fn(open);
  } finally {
    for (const db of opened) if (db.isOpen) db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("replay log: a message id admitted through one connection is a replay through another, both ways", async () => {
  await withDataDir(async (open) => {
    const a = sqliteRateLimitStore(open());
    const b = sqliteRateLimitStore(open());
    equal(await admit(a, "m1", T0), "counted");
    equal(await admit(b, "m2", T0), "counted");
    equal(await admit(b, "m1", T0 + 1), "replayed sync");
    equal(await admit(a, "m2", T0 + 1), "replayed sync");
    // The same id of another sender is another message.
    equal(await admit(b, "m1", T0 + 2, "s2"), "counted");
    // Many writes on each side, interleaved: each sees all of the other's.
    for (let i = 0; i < 50; i++) {
      equal(await admit(i % 2 ? a : b, `n${i}`, T0 + 10 + i), "counted");
      equal(await admit(i % 2 ? b : a, `n${i}`, T0 + 10 + i), "replayed sync");
    }
  });
});

Deno.test("replay log: a new connection (a restart) loads the window's records; older ones are not replays", async () => {
  await withDataDir(async (open) => {
    const first = open();
    const before = sqliteRateLimitStore(first);
    equal(await admit(before, "old", T0), "counted");
    equal(await admit(before, "recent", T0 + WINDOW_MS / 2), "counted");
    first.close();
    const after = sqliteRateLimitStore(open());
    const now = T0 + WINDOW_MS + 1;
    equal(await admit(after, "recent", now), "replayed sync");
    equal(await admit(after, "old", now), "counted", "recorded longer ago than the window");
    equal(await admit(after, "old", now + 1), "replayed sync", "and recorded again");
  });
});

Deno.test("replay log: a load of several chunks, and an idle connection's catch-up: admissions wait, then see every row; a failed load is tried again", async () => {
  await withDataDir(async (open) => {
    const first = open();
    const insert = first.prepare(
      "INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES ('s1', ?, ?)",
    );
    first.exec("BEGIN");
    for (let i = 0; i < 25_000; i++) insert.run(`bulk-${i}`, T0 + i);
    first.exec("COMMIT");
    const store = sqliteRateLimitStore(open());
    // Issued together while the index loads (three chunks, the event loop free between them).
    const outcomes = await Promise.all([
      admit(store, "bulk-0", T0 + 30_000),
      admit(store, "bulk-24999", T0 + 30_000),
      admit(store, "fresh", T0 + 30_000),
      admit(store, "fresh", T0 + 30_000),
    ]);
    deepEqual(outcomes, ["replayed sync", "replayed sync", "counted", "replayed sync"]);
    equal(await admit(store, "bulk-12345", T0 + 30_001), "replayed sync");
    // Idle while another process appended 25,000 more: its next admission reads them first.
    first.exec("BEGIN");
    for (let i = 0; i < 25_000; i++) insert.run(`later-${i}`, T0 + 40_000 + i);
    first.exec("COMMIT");
    deepEqual(
      await Promise.all([
        admit(store, "later-0", T0 + 70_000),
        admit(store, "later-24999", T0 + 70_000),
        admit(store, "bulk-1", T0 + 70_000),
        admit(store, "fresh-2", T0 + 70_000),
      ]),
      ["replayed sync", "replayed sync", "replayed sync", "counted"],
    );
  });
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 37));
    const store = sqliteRateLimitStore(db);
    await rejects(admit(store, "m1", T0), /no such column: seq/);
    migrate(db);
    equal(await admit(store, "m1", T0), "counted");
    equal(await admit(store, "m1", T0 + 1), "replayed sync");
  } finally {
    db.close();
  }
});

Deno.test("replay log: a rolled-back write's seq, taken by another connection's row, is read by the first", async () => {
  await withDataDir(async (open) => {
    const dbA = open();
    const a = sqliteRateLimitStore(dbA);
    const b = sqliteRateLimitStore(open());
    equal(await admit(a, "m0", T0), "counted"); // A has loaded and committed: it reads only new rows from now on
    const at = { nowMs: T0 + 1, windowMs: WINDOW_MS };
    dbA.exec("BEGIN IMMEDIATE");
    equal(replayWrite(dbA).record("s1", "lost", at), undefined);
    dbA.exec("ROLLBACK");
    // B's row takes the seq A's rolled-back row had (AUTOINCREMENT's counter was rolled back with it).
    equal(await admit(b, "taken", T0 + 2), "counted");
    const seqs = dbA.prepare("SELECT seq, message_id FROM replay_guard ORDER BY seq").all()
      .map((r) => [Number(r.seq), r.message_id]);
    deepEqual(seqs.map(([, id]) => id), ["m0", "taken"]);
    equal(await admit(a, "taken", T0 + 3), "replayed sync", "A reads the row under the seq it had used");
    equal(await admit(a, "lost", T0 + 3), "counted", "its index's stale entry matches no row");
    equal(await admit(b, "lost", T0 + 4), "replayed sync");
  });
});

Deno.test("replay log: with one hash for every message id, each is told apart by its row", async () => {
  await withDataDir(async (open) => {
    const db = open();
    useReplayHash(db, () => 7);
    const store = sqliteRateLimitStore(db);
    const ids = Array.from({ length: 40 }, (_, i) => `c${i}`);
    for (const id of ids) equal(await admit(store, id, T0), "counted");
    for (const id of ids) equal(await admit(store, id, T0 + 1), "replayed sync");
    equal(await admit(store, "c0", T0 + 1, "s2"), "counted", "another sender's id");
    // Past the window every one is admitted again, each once.
    for (const id of ids) equal(await admit(store, id, T0 + WINDOW_MS + 1), "counted");
    for (const id of ids) equal(await admit(store, id, T0 + WINDOW_MS + 2), "replayed sync");
  });
});

Deno.test("replay log: one batch with two copies of a message id admits the first only", async () => {
  await withDataDir(async (open) => {
    const store = sqliteRateLimitStore(open());
    const outcomes = await Promise.all(
      ["d1", "d2", "d1", "d1"].map((id) => admit(store, id, T0)),
    );
    deepEqual(outcomes, ["counted", "counted", "replayed sync", "replayed sync"]);
  });
});

Deno.test("replay log: a connection that only catches up (its admissions all refused before they record) drops expired rows", async () => {
  await withDataDir(async (open) => {
    const a = sqliteRateLimitStore(open());
    const b = open();
    // Seven records half a window apart, over three windows; b reads the log after each, never writing.
    for (let k = 0; k <= 6; k++) {
      const at = T0 + k * WINDOW_MS / 2;
      equal(await admit(a, `m${k}`, at), "counted");
      await replayReady(b, at + 1_000, WINDOW_MS);
    }
    // Generations are a window long: at T0 + 3 windows (+1 s) those ending by T0 + 2 windows are gone (m0–m3).
    deepEqual(replayIndexStats(b), { rows: 3, generations: 2, lastSeq: 7 });
    const store = sqliteRateLimitStore(b);
    equal(await admit(store, "m6", T0 + 3 * WINDOW_MS + 2_000), "replayed sync");
    equal(await admit(store, "m5", T0 + 3 * WINDOW_MS + 2_000), "replayed sync");
    equal(await admit(store, "m2", T0 + 3 * WINDOW_MS + 2_000), "counted");
  });
});

Deno.test("replay log: after a stop longer than the window, the load reads no expired row and goes on from the newest", async () => {
  await withDataDir(async (open) => {
    const a = sqliteRateLimitStore(open());
    for (let k = 0; k < 3; k++) equal(await admit(a, `old-${k}`, T0 + k), "counted");
    const restarted = open();
    await replayReady(restarted, T0 + 2 * WINDOW_MS, WINDOW_MS);
    deepEqual(replayIndexStats(restarted), { rows: 0, generations: 0, lastSeq: 3 });
    // Rows another connection appends after the load are read from there.
    equal(await admit(a, "new", T0 + 2 * WINDOW_MS), "counted");
    const store = sqliteRateLimitStore(restarted);
    equal(await admit(store, "new", T0 + 2 * WINDOW_MS + 2_000), "replayed sync");
    equal(await admit(store, "old-0", T0 + 2 * WINDOW_MS + 2_000), "counted");
  });
});

Deno.test("replay log: a batch the group commit rolls back after its records (a counter's write failed) leaves no replay behind", async () => {
  await withDataDir(async (open) => {
    const db = open();
    const store = sqliteRateLimitStore(db);
    equal(await admit(store, "m0", T0), "counted");
    // The day counter's insert of a new sender fails after the batch recorded its message id.
    db.exec("CREATE TRIGGER full BEFORE INSERT ON rate_days BEGIN SELECT RAISE(ABORT, 'no room'); END");
    await rejects(admit(store, "m1", T0 + 1, "s2"), /no room/);
    // Not committed: the last seq read stays where the committed write left it.
    equal(replayIndexStats(db).lastSeq, 1);
    db.exec("DROP TRIGGER full");
    equal(await admit(store, "m1", T0 + 2, "s2"), "counted");
    equal(await admit(store, "m1", T0 + 3, "s2"), "replayed sync");
  });
});

Deno.test("rate limits: a batch whose transaction SQLite rolled back (disk full) fails whole, writing nothing", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db);
    const limits = { minute: 100, day: 1_000 };
    db.exec("BEGIN IMMEDIATE");
    throws(
      () =>
        countSenderRequests(db, [
          {
            senderId: "s1",
            limits,
            admitted: () => {
              db.exec("ROLLBACK"); // what SQLite does itself on some failures of a statement
              throw new Error("database or disk is full");
            },
          },
          { senderId: "s2", limits, admitted: () => {} },
        ], T0),
      /disk is full/,
    );
    equal(db.isTransaction, false);
    // Without the rethrow, s2 was counted and its counters written outside any transaction.
    deepEqual(db.prepare("SELECT sender_id FROM rate_days").all(), []);
    deepEqual(db.prepare("SELECT key FROM rate_buckets").all(), []);
  } finally {
    db.close();
  }
});

Deno.test("migration 0037: the keyed table's records move to the log with their kind and stay replays", async () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 37));
    const insert = db.prepare(
      "INSERT INTO replay_guard (sender_id, message_id, seen_at_ms, kind) VALUES (?, ?, ?, ?)",
    );
    insert.run("s1", "was-sync", T0, "sync");
    insert.run("s1", "was-async", T0 + 5, "async");
    deepEqual(migrate(db, MIGRATIONS.filter((m) => m.version <= 37)), ["0037_replay_guard_log"]);
    deepEqual(
      db.prepare("SELECT seq, message_id, seen_at_ms, kind FROM replay_guard ORDER BY seq").all()
        .map((r) => [Number(r.seq), r.message_id, Number(r.seen_at_ms), r.kind]),
      [[1, "was-sync", T0, "sync"], [2, "was-async", T0 + 5, "async"]],
    );
    const store = sqliteRateLimitStore(db);
    equal(await admit(store, "was-sync", T0 + 1000), "replayed sync");
    equal(await admit(store, "was-async", T0 + 1000), "replayed async");
    equal(await admit(store, "new", T0 + 1000), "counted");
    equal(Number(db.prepare("SELECT MAX(seq) AS s FROM replay_guard").get()!.s), 3);
  } finally {
    db.close();
  }
});
