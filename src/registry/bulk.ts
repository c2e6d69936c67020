/**
 * Bulk loading: maintaining ~20 indexes row by row is the main cost of a large import, so a load into an
 * empty registry drops the search indexes first and rebuilds them at the end (a sorted build is several
 * times faster). Their DDL is kept in `registry_deferred_indexes` so a crash mid-load loses nothing:
 * `restoreIndexes` runs at the next start and before every import.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { ensureRegistryIndexes, indexPrefix } from "../registries/indexes.ts";
import { requireProfile } from "../registries/index.ts";

/** The name prefixes of a registry's search indexes (social: migrations 0003/0014; others: indexes.ts). */
export function prefixesOf(registry: string): string[] {
  if (registry === "social") return ["reg_p_", "reg_g_"];
  return requireProfile(registry).recordTypes.map((rt) => indexPrefix(rt.storage));
}

/**
 * Drops the search indexes of `registry`'s records (social when not given: the load is into that registry),
 * remembering their DDL; returns how many. The other registries' indexes stay.
 */
export function deferIndexes(db: Db, registry = "social"): number {
  ensureRegistryIndexes(db, registry);
  const prefixes = prefixesOf(registry);
  return transaction(db, () => {
    const rows = (stmt(
      db,
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'registrants' AND sql IS NOT NULL`,
    ).all() as Array<{ name: string; sql: string }>).filter((r) =>
      prefixes.some((p) => r.name.startsWith(p))
    );
    for (const r of rows) {
      stmt(db, "INSERT OR REPLACE INTO registry_deferred_indexes (name, sql) VALUES (?, ?)").run(
        r.name,
        r.sql,
      );
      // The name comes from sqlite_master (our own schema), never from input.
      db.exec(`DROP INDEX "${r.name.replaceAll('"', "")}"`);
    }
    return rows.length;
  });
}

/** Recreates any deferred index (and refreshes planner statistics); returns how many. */
export function restoreIndexes(db: Db): number {
  const rows = stmt(db, "SELECT name, sql FROM registry_deferred_indexes").all() as Array<
    { name: string; sql: string }
  >;
  for (const r of rows) {
    transaction(db, () => {
      const exists = stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(r.name);
      if (!exists) db.exec(r.sql);
      stmt(db, "DELETE FROM registry_deferred_indexes WHERE name = ?").run(r.name);
    });
  }
  if (rows.length > 0) db.exec("PRAGMA optimize");
  return rows.length;
}
