/**
 * PostgreSQL: a statement prepared before another instance's migration added a column to its table (`SELECT *`,
 * `RETURNING *`) is refused by PostgreSQL ("cached plan must not change result type") on every connection that
 * prepared it; the driver never prepares the name again. The query layer renames it and runs it again: on the
 * pool at once, in a transaction at its next attempt.
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgAll, pgTransaction } from "../../src/db/pg/query.ts";

Deno.test("pg: a SELECT * prepared before a column was added keeps answering, with the new column", async () => {
  const url = await newPgDatabase("plan");
  const pool = openPgPool(url, { max: 1 }); // one connection: it holds the prepared statement
  const other = openPgPool(url, { max: 1 }); // another instance, migrating
  try {
    await other.query("CREATE TABLE shape (a integer)");
    await other.query("INSERT INTO shape VALUES (1)");
    const text = "SELECT * FROM shape ORDER BY a";
    deepEqual(await pgAll(pool, text), [{ a: 1 }]);
    await other.query("ALTER TABLE shape ADD COLUMN b integer DEFAULT 7");
    deepEqual(await pgAll(pool, text), [{ a: 1, b: 7 }], "on the pool: run again at once");

    const inTxn = "SELECT * FROM shape WHERE a = $1";
    const read = () => pgTransaction(pool, (c) => pgAll(c, inTxn, [1]));
    deepEqual(await read(), [{ a: 1, b: 7 }]);
    await other.query("ALTER TABLE shape ADD COLUMN c integer DEFAULT 8");
    await rejects(read(), /cached plan must not change result type/, "the transaction it aborted fails");
    deepEqual(await read(), [{ a: 1, b: 7, c: 8 }], "its next attempt prepares the text again");
    equal((await pgAll(pool, text)).length, 1);
  } finally {
    await pool.end();
    await other.end();
  }
});
