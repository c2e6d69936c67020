/**
 * Readiness after a write that failed for lack of space: `/readyz` answers 503 "degraded" (storage "full",
 * since when, SQLite's error) until a write of the connection succeeds again. The real disk-full run is
 * tests/faults/disk_full_test.ts (needs root for its tmpfs); this one runs anywhere.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { transaction } from "../../src/db/sqlite.ts";
import { FULL_REPORTED_MS, noteStorageFull, storageFull } from "../../src/db/faults.ts";

Deno.test("/readyz reports degraded (503) after a write failed with SQLITE_FULL, and ok once a write commits", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const ready = async () => {
      const res = await app.request("/readyz");
      return { status: res.status, body: await res.json() };
    };
    assert.deepEqual(await ready(), {
      status: 200,
      body: { status: "ok", checks: { database: "ok", kv: "ok", storage: "ok" } },
    });
    noteStorageFull(deps.db, Object.assign(new Error("database or disk is full"), { errcode: 13 }));
    const degraded = await ready();
    assert.equal(degraded.status, 503);
    assert.equal(degraded.body.status, "degraded");
    assert.deepEqual(degraded.body.checks, { database: "ok", kv: "ok", storage: "full" });
    assert.equal(degraded.body.storage.error, "database or disk is full");
    assert.ok(!Number.isNaN(Date.parse(degraded.body.storage.full_since)));
    // A failed write that is not for lack of space changes nothing; a committed one clears it.
    assert.throws(() => transaction(deps.db, () => deps.db.exec("INSERT INTO nowhere VALUES (1)")));
    assert.equal((await ready()).status, 503);
    transaction(deps.db, () => deps.db.exec("CREATE TABLE readiness_probe (x)"));
    assert.equal((await ready()).status, 200);
  } finally {
    deps.close();
  }
});

Deno.test("a connection's storage-full report lapses FULL_REPORTED_MS after its last such failure, not its first", async () => {
  const deps = await testDeps();
  try {
    const full = Object.assign(new Error("database or disk is full"), { errcode: 13 });
    noteStorageFull(deps.db, full);
    const first = storageFull(deps.db)!;
    await new Promise((r) => setTimeout(r, 20));
    // Failing again: still full since the first, and reported until FULL_REPORTED_MS after this one.
    noteStorageFull(deps.db, full);
    const again = performance.now();
    assert.deepEqual(storageFull(deps.db, again + FULL_REPORTED_MS - 5), first);
    assert.equal(storageFull(deps.db, again + FULL_REPORTED_MS + 5), undefined);
    // Lapsed for good: the next failure starts a new report.
    assert.equal(storageFull(deps.db), undefined);
  } finally {
    deps.close();
  }
});
