/**
 * Several "instances" on one PostgreSQL database, for tests of what must stay exact across instances: each gets
 * its own pool (its own connections, as a separate server process would have) and its own Storage over it.
 */
import type { Storage } from "../../src/db/storage.ts";
import { freshStorage, type RawSql } from "./storage.ts";

/**
 * Runs `fn` with `count` Storages, each on its own pool of `max` connections, over one fresh migrated database
 * (`sql` runs raw statements on it, as backendTest's does).
 */
export async function withPgInstances(
  count: number,
  fn: (instances: Storage[], sql: RawSql) => Promise<void>,
  options: { max?: number } = {},
): Promise<void> {
  const t = await freshStorage("postgres", { max: options.max ?? 8 });
  try {
    await fn([t.storage, ...Array.from({ length: count - 1 }, () => t.twin())], t.sql);
  } finally {
    await t.close();
  }
}
