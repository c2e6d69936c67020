/**
 * The replay guard's kind (migration 0035): each message id is recorded with what admitted it, a sync or an async
 * request, and a replay answers that kind, so the admission can refuse a sync request's copy on the async route.
 * Both backends, and the rows already there when the migration runs.
 */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { migratePg, PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgAll } from "../../src/db/pg/query.ts";
import { type AdmissionRequest, sqliteRateLimitStore } from "../../src/senders/limits_store.ts";
import { pgRateLimitStore } from "../../src/senders/pg_limits_store.ts";

const T0 = Date.parse("2026-05-01T12:00:00Z");
const WINDOW_MS = 600_000;

function request(messageId: string, kind?: AdmissionRequest["kind"]): AdmissionRequest {
  return { senderId: "s1", limits: { minute: 100, day: 1000 }, messageId, replayWindowMs: WINDOW_MS, kind };
}

/** An outcome with its decision reduced to "counted", so outcomes compare with deepEqual. */
function shown(o: object): unknown {
  return "decision" in o ? "counted" : o;
}

backendTest(
  "limits store: a replay answers the kind of request that recorded the message id",
  async (s, sql) => {
    equal(shown(await s.limits.admit(request("m-sync", "sync"), T0)), "counted");
    equal(shown(await s.limits.admit(request("m-async", "async"), T0)), "counted");
    equal(shown(await s.limits.admit(request("m-default"), T0)), "counted");
    deepEqual(shown(await s.limits.admit(request("m-sync", "async"), T0 + 1000)), { replayed: "sync" });
    deepEqual(shown(await s.limits.admit(request("m-async", "sync"), T0 + 1000)), { replayed: "async" });
    deepEqual(shown(await s.limits.admit(request("m-async", "async"), T0 + 1000)), { replayed: "async" });
    // Without a kind, the stricter: a copy of it is refused on every route.
    deepEqual(shown(await s.limits.admit(request("m-default", "async"), T0 + 1000)), { replayed: "sync" });
    // A record past the window is taken over with the new request's kind.
    equal(shown(await s.limits.admit(request("m-sync", "async"), T0 + WINDOW_MS + 1)), "counted");
    deepEqual(shown(await s.limits.admit(request("m-sync", "sync"), T0 + WINDOW_MS + 2)), {
      replayed: "async",
    });
    // Each message id's latest record (SQLite's log keeps the one taken over until the purge).
    const rows = await sql(`SELECT message_id, kind FROM replay_guard g WHERE seen_at_ms =
      (SELECT MAX(seen_at_ms) FROM replay_guard h WHERE h.message_id = g.message_id) ORDER BY message_id`);
    deepEqual(rows.map((r) => [r.message_id, r.kind]), [
      ["m-async", "async"],
      ["m-default", "sync"],
      ["m-sync", "async"],
    ]);
  },
);

backendTest(
  "limits store: a write request's message id is answered as write until settled, then as sync",
  async (s, sql) => {
    equal(shown(await s.limits.admit(request("m-write", "write"), T0)), "counted");
    equal(shown(await s.limits.admit(request("m-async", "async"), T0)), "counted");
    deepEqual(shown(await s.limits.admit(request("m-write", "write"), T0 + 1000)), { replayed: "write" });
    deepEqual(shown(await s.limits.admit(request("m-write", "sync"), T0 + 1000)), { replayed: "write" });
    await s.limits.settle("s1", "m-write");
    deepEqual(shown(await s.limits.admit(request("m-write", "write"), T0 + 2000)), { replayed: "sync" });
    // Only a write record is settled: another kind, another sender's or an unknown id are left as they are.
    await s.limits.settle("s1", "m-async");
    await s.limits.settle("s2", "m-write");
    await s.limits.settle("s1", "m-unknown");
    deepEqual(shown(await s.limits.admit(request("m-async", "async"), T0 + 2000)), { replayed: "async" });
    const rows = await sql("SELECT sender_id, message_id, kind FROM replay_guard ORDER BY message_id");
    deepEqual(rows.map((r) => [r.sender_id, r.message_id, r.kind]), [["s1", "m-async", "async"], [
      "s1",
      "m-write",
      "sync",
    ]]);
  },
);

Deno.test("migration 0035 [sqlite]: a message id recorded before it reads as recorded by a sync request", async () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 35));
    db.prepare("INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES ('s1', 'old', ?)").run(
      T0,
    );
    // 0035, and the later ones: 0037 carries the record over into the log.
    deepEqual(migrate(db), MIGRATIONS.filter((m) => m.version >= 35).map((m) => m.name));
    deepEqual(shown(await sqliteRateLimitStore(db).admit(request("old", "async"), T0 + 1000)), {
      replayed: "sync",
    });
  } finally {
    db.close();
  }
});

Deno.test("migration 0035 [postgres]: a message id recorded before it reads as sync; 0030's dci_admit still answers", async () => {
  const url = await newPgDatabase("kind");
  const pool = openPgPool(url, { max: 2 });
  try {
    await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version < 35));
    await pool.query(
      "INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES ('s1', 'old', $1)",
      [T0],
    );
    deepEqual(await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version <= 35)), [
      "0035_replay_guard_kind",
    ]);
    deepEqual(shown(await pgRateLimitStore(pool).admit(request("old", "async"), T0 + 1000)), {
      replayed: "sync",
    });
    // An instance of the previous version, until it is replaced, admits through 0030's function: its rows are sync.
    const [row] = await pgAll<{ outcome: string }>(
      pool,
      "SELECT outcome FROM dci_admit('s1', $1, $2, '2026-05-01', 100, 1000, true, 'prev', $3, $4)",
      [Math.floor(T0 / 1000), Math.floor(T0 / 1000) - 60, T0, T0 - WINDOW_MS],
    );
    equal(row.outcome, "counted");
    deepEqual(shown(await pgRateLimitStore(pool).admit(request("prev", "async"), T0 + 1000)), {
      replayed: "sync",
    });
    // A row a new instance recorded as async, taken over past the window by the previous version's call (a
    // sync request, for all it knows), is sync from then on.
    await pgRateLimitStore(pool).admit(request("taken", "async"), T0);
    const later = T0 + 2 * WINDOW_MS;
    const [over] = await pgAll<{ outcome: string }>(
      pool,
      "SELECT outcome FROM dci_admit('s1', $1, $2, '2026-05-01', 100, 1000, true, 'taken', $3, $4)",
      [Math.floor(later / 1000), Math.floor(later / 1000) - 60, later, later - WINDOW_MS],
    );
    equal(over.outcome, "counted");
    deepEqual(shown(await pgRateLimitStore(pool).admit(request("taken", "async"), later + 1000)), {
      replayed: "sync",
    });
  } finally {
    await pool.end();
  }
});
