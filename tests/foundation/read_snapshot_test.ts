/**
 * readSnapshot(): a search's count, page and records read from one SQLite snapshot, whatever another connection
 * commits between them (the search pool's connections and the serving isolates' write beside each other).
 */
import assert from "node:assert/strict";
import { openDatabase, readSnapshot } from "../../src/db/sqlite.ts";

Deno.test("readSnapshot() reads one snapshot across another connection's commit, and joins a transaction already open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-snapshot-" });
  const reader = openDatabase(`${dir}/db.sqlite`);
  const writer = openDatabase(`${dir}/db.sqlite`);
  try {
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)");
    const count = () => Number((reader.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n);
    const ids = () =>
      (reader.prepare("SELECT id FROM t ORDER BY id").all() as Array<{ id: number }>).map((r) => r.id);
    const seen = readSnapshot(reader, () => {
      const n = count();
      writer.exec("DELETE FROM t WHERE id = 2");
      return { n, ids: ids() };
    });
    assert.deepEqual(seen, { n: 3, ids: [1, 2, 3] }, "the count and the rows agree");
    assert.equal(reader.isTransaction, false);
    assert.deepEqual(ids(), [1, 3], "a new read sees the commit");
    // Without it, each statement reads the latest commit.
    const apart = { n: count(), ids: (writer.exec("DELETE FROM t WHERE id = 3"), ids()) };
    assert.deepEqual(apart, { n: 2, ids: [1] });
    // Inside a transaction already open, it runs in it and leaves it open.
    reader.exec("BEGIN");
    readSnapshot(reader, count);
    assert.equal(reader.isTransaction, true);
    reader.exec("COMMIT");
  } finally {
    reader.close();
    writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});
