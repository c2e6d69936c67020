/** The size of a purge's chunks (src/db/chunks.ts): small first, then sized by how long the last one took. */
import { deepEqual, equal } from "node:assert/strict";
import { CHUNK_TARGET_MS, deleteChunks, nextChunk } from "../../src/db/chunks.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { deleteInChunks } from "../../src/db/purge.ts";

Deno.test("purge chunks: quick ones grow twofold up to the largest, slow ones shrink to the target", () => {
  equal(nextChunk(250, 1, 2000), 500, "a quick chunk doubles");
  equal(nextChunk(1500, 1, 2000), 2000, "never past the largest");
  equal(nextChunk(250, CHUNK_TARGET_MS, 2000), 250, "one on target stays");
  equal(nextChunk(250, CHUNK_TARGET_MS * 2, 2000), 125, "one twice as slow halves");
  // Rows whose cascades make a chunk take seconds: the next holds as many as take the target time, at least 16.
  equal(nextChunk(250, 2000, 2000), 16);
  equal(nextChunk(10, 2000, 10), 10, "a largest under the floor is still the largest");
  equal(nextChunk(2000, 0, 2000), 2000, "a zero-time chunk does not divide by zero");
});

Deno.test("deleteChunks: the first chunk is small, quick ones grow to the largest, and it stops at a short one", async () => {
  const asked: number[] = [];
  let left = 5_000;
  const total = await deleteChunks(2000, (chunk) => {
    asked.push(chunk);
    const n = Math.min(chunk, left);
    left -= n;
    return n;
  });
  equal(total, 5_000);
  // Quick runs double it (a pause of the machine inside one may shrink the next: only the bounds are certain).
  equal(asked[0], 250);
  equal(asked.every((n) => n >= 16 && n <= 2000), true, asked.join(" "));
  equal(Math.max(...asked) > 250, true, asked.join(" "));
  deepEqual(await deleteChunks(100, (chunk) => (asked.push(chunk), 0)), 0);
  equal(asked.at(-1), 100, "the first chunk is at most the largest");
});

Deno.test("deleteInChunks deletes every matching row across chunks of changing size, and only those", async () => {
  const db = openDatabase(":memory:");
  try {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, old INTEGER NOT NULL)");
    db.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10007) " +
        "INSERT INTO t (id, old) SELECT i, i % 3 != 0 FROM n",
    );
    const deleted = await deleteInChunks(
      db,
      "DELETE FROM t WHERE id IN (SELECT id FROM t WHERE old = ? LIMIT ?)",
      [1],
      1000,
    );
    equal(deleted, 6672);
    equal((db.prepare("SELECT COUNT(*) AS n FROM t WHERE old = 0").get() as { n: number }).n, 3335);
    equal((db.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n, 3335);
  } finally {
    db.close();
  }
});
