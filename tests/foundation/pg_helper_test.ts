import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { startPostgres } from "../helpers/postgres.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";

Deno.test("startPostgres() serves a loopback-only cluster behind a password, and stop() removes it", async () => {
  const cluster = await startPostgres();
  let stopped = false;
  try {
    const url = new URL(cluster.url);
    equal(url.hostname, "127.0.0.1");
    ok(Number(url.port) > 0);
    ok(url.password.length >= 32, "a random password");
    const pool = openPgPool(cluster.url, { max: 1 });
    try {
      const { rows } = await pool.query(
        "SELECT current_setting('listen_addresses') AS listen, current_user AS who",
      );
      deepEqual(rows, [{ listen: "127.0.0.1", who: "dci" }]);
    } finally {
      await pool.end();
    }
    url.password = "wrong";
    const wrong = openPgPool(url.href, { max: 1 });
    await rejects(wrong.query("SELECT 1"), /password authentication failed/);
    await wrong.end();
    const other = await cluster.createDatabase("other");
    const pool2 = openPgPool(other, { max: 1 });
    equal((await pool2.query("SELECT current_database() AS db")).rows[0].db, "other");
    await pool2.end();
    await cluster.stop();
    stopped = true;
    await rejects(Deno.stat(cluster.dir), Deno.errors.NotFound);
    const after = openPgPool(cluster.url, { max: 1 });
    await rejects(after.query("SELECT 1"), /ECONNREFUSED|connect/);
    await after.end();
  } finally {
    if (!stopped) await cluster.stop();
  }
});

Deno.test("openPgPool() on a real PostgreSQL: parameters, transactions, LISTEN/NOTIFY, bigint as number", async (t) => {
  const cluster = await startPostgres();
  const pool = openPgPool(cluster.url, { max: 3 });
  try {
    await t.step("binds values as parameters, never as SQL text", async () => {
      const hostile = "x'); DROP TABLE pg_class; --";
      const { rows } = await pool.query("SELECT $1::text AS v, $2::bigint + 1 AS n", [hostile, 41]);
      deepEqual(rows, [{ v: hostile, n: 42 }]);
    });

    await t.step("a transaction on one checked-out client commits or rolls back as a whole", async () => {
      await pool.query("CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)");
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO t VALUES (1, 'kept')");
        await client.query("COMMIT");
        await client.query("BEGIN");
        await client.query("INSERT INTO t VALUES (2, 'dropped')");
        await rejects(client.query("INSERT INTO t VALUES (1, 'duplicate')"), /duplicate key/);
        await client.query("ROLLBACK");
      } finally {
        client.release();
      }
      deepEqual((await pool.query("SELECT id, v FROM t ORDER BY id")).rows, [{ id: 1, v: "kept" }]);
    });

    await t.step("a NOTIFY from one connection reaches a LISTEN on another", async () => {
      const listener = await pool.connect();
      try {
        const got = new Promise<string>((resolve) =>
          listener.on("notification", (m) => resolve(m.payload ?? ""))
        );
        await listener.query("LISTEN dci_wake");
        await pool.query("SELECT pg_notify('dci_wake', $1)", ["txn 7"]);
        equal(await got, "txn 7");
        await listener.query("UNLISTEN dci_wake");
      } finally {
        listener.release();
      }
    });

    await t.step("reads bigint as a number and refuses one a number cannot hold exactly", async () => {
      deepEqual((await pool.query("SELECT 9007199254740991::bigint AS n")).rows, [{ n: 9007199254740991 }]);
      await rejects(pool.query("SELECT 9007199254740993::bigint AS n"), /does not fit a JavaScript number/);
    });
  } finally {
    await pool.end();
    await cluster.stop();
  }
});
