/**
 * PostgreSQL migrations that build an index alone (`concurrentIndex`, 0038) build it concurrently, outside a
 * transaction, so the old instances of a rolling upgrade keep writing to the table; two instances starting at once
 * both finish (the second waits by trying the lock again, not in a statement the build would wait for); an invalid
 * index a failed build left is dropped and built again.
 */
import { deepEqual, equal } from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { migratePg, PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";

async function valid(pool: PgPool): Promise<boolean | undefined> {
  const { rows } = await pool.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = 'notifications_delivered'`,
  );
  return rows[0]?.valid;
}

Deno.test("pg migration 0038 builds its index concurrently: two instances migrating at once both finish; an invalid index is built again", async () => {
  const url = await newPgDatabase("mig");
  const a = openPgPool(url, { max: 2 });
  const b = openPgPool(url, { max: 2 });
  try {
    await migratePg(a, PG_MIGRATIONS.filter((m) => m.version < 38));
    equal(await valid(a), undefined);
    const upTo38 = PG_MIGRATIONS.filter((m) => m.version <= 38);
    const [ra, rb] = await Promise.all([migratePg(a, upTo38), migratePg(b, upTo38)]);
    deepEqual([...ra, ...rb], ["0038_notifications_delivered"], "applied once");
    equal(await valid(a), true);

    // As a build cut by a stop leaves it: the index invalid, the migration not recorded.
    await a.query(
      "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'notifications_delivered'::regclass",
    );
    await a.query("DELETE FROM schema_migrations WHERE version = 38");
    deepEqual(await migratePg(b, upTo38), ["0038_notifications_delivered"]);
    equal(await valid(a), true);
  } finally {
    await a.end();
    await b.end();
  }
});
