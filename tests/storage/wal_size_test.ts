/** A WAL grown large (a bulk load, a checkpoint held off by a long read) is cut back when a checkpoint resets it. */
import assert from "node:assert/strict";
import { openDatabase, WAL_SIZE_LIMIT_BYTES } from "../../src/db/sqlite.ts";

Deno.test("a WAL grown past the limit while a read held the checkpoint off is truncated to it when reset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-wal-" });
  const db = openDatabase(`${dir}/t.sqlite`);
  const reader = openDatabase(`${dir}/t.sqlite`);
  try {
    db.exec("CREATE TABLE t (v BLOB)");
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM t").get();
    const insert = db.prepare("INSERT INTO t VALUES (randomblob(100000))");
    db.exec("BEGIN");
    for (let i = 0; i < 900; i++) insert.run();
    db.exec("COMMIT");
    const wal = () => Deno.statSync(`${dir}/t.sqlite-wal`).size;
    assert.ok(wal() > WAL_SIZE_LIMIT_BYTES * 1.2, `grown: ${wal()}`);
    reader.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    db.exec("INSERT INTO t VALUES (1)"); // the next write starts the WAL over
    assert.ok(wal() <= WAL_SIZE_LIMIT_BYTES + 65536, `cut back: ${wal()}`);
  } finally {
    reader.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
