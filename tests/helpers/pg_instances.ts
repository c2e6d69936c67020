/**
 * Several "instances" on one PostgreSQL database, for tests of what must stay exact across instances: each gets
 * its own pool (its own connections, as a separate server process would have) and its own Storage over it.
 */
import type { Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { sharedPostgres } from "./postgres.ts";

/**
 * Runs `fn` with `count` Storages, each on its own pool of `max` connections, over one fresh migrated database
 * (whose URL `fn` gets too).
 */
export async function withPgInstances(
  count: number,
  fn: (instances: Storage[], url: string) => Promise<void>,
  options: { max?: number } = {},
): Promise<void> {
  const cluster = await sharedPostgres();
  const url = await cluster.createDatabase(`i_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`);
  const setup = openPgPool(url, { max: 1 });
  try {
    await migratePg(setup);
  } finally {
    await setup.end();
  }
  const instances = Array.from(
    { length: count },
    () => pgStorage(openPgPool(url, { max: options.max ?? 8 })),
  );
  try {
    await fn(instances, url);
  } finally {
    await Promise.all(instances.map((s) => s.close()));
  }
}
