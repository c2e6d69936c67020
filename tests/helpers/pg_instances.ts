/**
 * Several "instances" on one PostgreSQL database for race tests: each Storage has its own pool (its own
 * connections), as two servers behind a load balancer would, on one fresh, migrated database of the shared test
 * cluster.
 */
import type { Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { sharedPostgres } from "./postgres.ts";

/** `n` Storages, each with its own pool, on one fresh database; `close` ends every pool. */
export async function pgInstances(n: number): Promise<{ instances: Storage[]; close(): Promise<void> }> {
  const cluster = await sharedPostgres();
  const url = await cluster.createDatabase(`t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`);
  const pools = Array.from({ length: n }, () => openPgPool(url, { max: 4 }));
  try {
    await migratePg(pools[0]);
  } catch (err) {
    await Promise.all(pools.map((p) => p.end()));
    throw err;
  }
  const instances = pools.map((p) => pgStorage(p));
  return { instances, close: async () => void await Promise.all(instances.map((s) => s.close())) };
}
