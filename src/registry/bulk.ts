/**
 * Bulk loading: maintaining ~20 indexes row by row is the main cost of a large import, so a load into an
 * empty registry drops the search indexes first and rebuilds them at the end (a sorted build is several
 * times faster), and its identifier, contact and value rows wait in stage tables, merged into their trees once
 * at the end (`mergeStaged`). The indexes' DDL is kept in `registry_deferred_indexes` and the staged rows are
 * committed with their batch, so a crash mid-load loses nothing: `restoreIndexes` runs at the next start and
 * before every bulk load.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { indexPrefix, missingRegistryIndexes } from "../registries/indexes.ts";
import { requireProfile } from "../registries/index.ts";

/** The name prefixes of a registry's search indexes (social: migrations 0003/0014; others: indexes.ts). */
export function prefixesOf(registry: string): string[] {
  if (registry === "social") return ["reg_p_", "reg_g_"];
  return requireProfile(registry).recordTypes.map((rt) => indexPrefix(rt.storage));
}

/**
 * The name ending of the indexes a load writes in key order, kept while it runs: those of `last_updated`, which is
 * each batch's import time, later at each batch, so every entry goes at the index's end, as the table's rows do
 * (10M persons: rebuilding both took 10.7 s).
 */
const APPENDED_SUFFIX = "_updated";

/**
 * Drops the search indexes of `registry`'s records (social when not given: the load is into that registry) but
 * those of `last_updated` (APPENDED_SUFFIX), remembering their DDL; returns how many. The other registries'
 * indexes stay. A registry never written has none yet: their DDL is recorded from its profile without building
 * them first (each build reads every registrant, to be dropped at once), but last_updated's, which the load keeps.
 */
export function deferIndexes(db: Db, registry = "social"): number {
  const prefixes = prefixesOf(registry);
  return transaction(db, () => {
    let deferred = 0;
    for (const i of missingRegistryIndexes(db, registry)) {
      if (i.name.endsWith(APPENDED_SUFFIX)) db.exec(i.sql);
      else deferred += Number(stmt(db, DEFER).run(i.name, i.sql).changes);
    }
    const rows = (stmt(
      db,
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'registrants' AND sql IS NOT NULL`,
    ).all() as Array<{ name: string; sql: string }>).filter((r) =>
      prefixes.some((p) => r.name.startsWith(p)) && !r.name.endsWith(APPENDED_SUFFIX)
    );
    for (const r of rows) {
      stmt(db, DEFER).run(r.name, r.sql);
      // The name comes from sqlite_master (our own schema), never from input.
      db.exec(`DROP INDEX "${r.name.replaceAll('"', "")}"`);
    }
    return deferred + rows.length;
  });
}

const DEFER = "INSERT OR REPLACE INTO registry_deferred_indexes (name, sql) VALUES (?, ?)";

/**
 * Each stage table of a bulk load (migration 0033) and the statement that merges its rows into their table in key
 * order.
 */
const STAGES = [
  [
    "load_identifiers",
    `INSERT INTO identifiers (id_value, id_type, registrant_id, live, registry)
      SELECT id_value, id_type, registrant_id, 1, registry FROM load_identifiers
      ORDER BY id_value, id_type, registrant_id`,
  ],
  [
    "load_contacts",
    `INSERT OR IGNORE INTO registrant_contacts (kind, value, registrant_id)
      SELECT kind, value, registrant_id FROM load_contacts ORDER BY kind, value, registrant_id`,
  ],
  [
    "load_values",
    `INSERT OR IGNORE INTO registrant_values (attr, value, registrant_id)
      SELECT attr, value, registrant_id FROM load_values ORDER BY attr, value, registrant_id`,
  ],
] as const;

/**
 * Moves a bulk load's staged identifier, contact and value rows into their tables, inside the caller's
 * transaction; returns how many rows. Sorted first (SQLite's sorter), the rows go into each tree in one ordered
 * pass, each leaf written once, instead of once a batch. A duplicate identifier the load's checks missed fails
 * here (identifiers_live), and the caller's transaction with it.
 */
export function mergeStaged(db: Db): number {
  let rows = 0;
  for (const [table, merge] of STAGES) {
    rows += Number(stmt(db, merge).run().changes);
    // The table names are constants (STAGES), never input.
    stmt(db, `DELETE FROM ${table}`).run();
  }
  return rows;
}

/**
 * `mergeStaged` in a transaction of its own, without foreign key checks: each would look up the row's registrant,
 * in the order of the row's value, a random read of the registrants table (at 3M persons, 8M rows: 53 s with the
 * checks, 8 s without). The staged rows' registrants are there: each row was written in the transaction that
 * wrote its registrant (the fast path's), and no statement deletes a registrant (a deleted one stays, not live).
 */
function mergeUnchecked(db: Db): void {
  const fk = (stmt(db, "PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys;
  db.exec("PRAGMA foreign_keys = OFF");
  try {
    transaction(db, () => mergeStaged(db));
  } finally {
    db.exec(`PRAGMA foreign_keys = ${Number(fk)}`);
  }
}

/**
 * Recreates any deferred index, then merges a bulk load's staged rows (`mergeUnchecked`), and refreshes planner
 * statistics; returns how many indexes. In that order: the indexes' pages go to the file's end, one after another,
 * where the stage's pages, freed by a merge first, would have scattered them (10M persons: a birth year + sex page
 * p95 11.4 ms right after the import, 8.1 ms built first; the 0.6 GB the stage frees stays for the file to reuse).
 * Each build scans the whole table and sorts its keys. Only while they run: the table is read through a memory map
 * (no copy into SQLite's page cache; mapped pages are the file's own, given back by the kernel under pressure), the
 * sorter may use a helper thread, and its sorted runs go to temporary files (SQLite's temporary directory, deleted
 * as each build ends) instead of memory. The sorter takes the connection's page cache size as its run size, so a
 * small cache (the connection's own, not a bulk load's) means many small sorted runs, merged: 4.3M records, 21
 * indexes, 52-58 s with runs in memory or a 2 GB cache, 31-36 s with an 8 MB cache and runs in files.
 */
export function restoreIndexes(db: Db): number {
  const rows = stmt(db, "SELECT name, sql FROM registry_deferred_indexes").all() as Array<
    { name: string; sql: string }
  >;
  const staged = STAGES.some(([table]) => stmt(db, `SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined);
  if (rows.length === 0 && !staged) return 0;
  const tempStore = (stmt(db, "PRAGMA temp_store").get() as { temp_store: number }).temp_store;
  db.exec("PRAGMA mmap_size = 4294967296; PRAGMA threads = 2; PRAGMA temp_store = FILE");
  try {
    for (const r of rows) {
      transaction(db, () => {
        const exists = stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(r.name);
        if (!exists) db.exec(r.sql);
        stmt(db, "DELETE FROM registry_deferred_indexes WHERE name = ?").run(r.name);
      });
    }
    if (staged) mergeUnchecked(db);
  } finally {
    db.exec(`PRAGMA mmap_size = 0; PRAGMA threads = 0; PRAGMA temp_store = ${Number(tempStore)}`);
  }
  db.exec("PRAGMA optimize");
  return rows.length;
}
