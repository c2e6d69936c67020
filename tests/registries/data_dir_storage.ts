/**
 * The stores of a server's or CLI's data dir, whichever backend the test pass runs: its SQLite file, or on the
 * PostgreSQL pass the database standing for it (tests/helpers/server.ts `dataDirDatabase`).
 */
import type { Storage } from "../../src/db/storage.ts";
import { dataDirDatabase } from "../helpers/server.ts";
import type { RawSql } from "../helpers/storage.ts";

/** Runs `fn` with the stores of `dataDir`'s database and its raw SQL, closing what it opened afterwards. */
export async function withDataDirStorage<T>(
  dataDir: string,
  fn: (storage: Storage, sql: RawSql) => Promise<T>,
): Promise<T> {
  const database = await dataDirDatabase(dataDir);
  try {
    return await fn(database.storage, database.sql);
  } finally {
    await database.close();
  }
}
