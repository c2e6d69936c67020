/**
 * The search indexes of the registries other than social: the same core columns social's migrations index,
 * each index partial on one storage record type (`WHERE record_type = 'crvs_person' AND deleted_at IS NULL`),
 * so a registry's searches never read another's rows and its writes touch only its own entries. Created by the
 * start of a server whose DCI_REGISTRIES names the registry (registry/startup.ts: each build reads every
 * registrant, which a first write would do holding the write lock), else the first time it is written; never in
 * the migration: a server holding only social pays nothing for the others, whose indexes would otherwise each be
 * evaluated (their WHERE) on every social write.
 */
import type { Db } from "../db/sqlite.ts";
import { profileOf } from "./index.ts";
import { stmt } from "../db/statements.ts";
import type { RecordTypeDef } from "./profile.ts";

/**
 * Indexed columns per record kind: [name suffix, column list, extra WHERE term]. A suffix ending in `_ci` is a
 * case-insensitive index of its one column (SQLite: `COLLATE NOCASE`; PostgreSQL: `lower(col) text_pattern_ops`,
 * as the baseline's reg_p_*_ci).
 */
const PERSON: ReadonlyArray<readonly [string, string, string?]> = [
  ["birth", "birth_date"],
  ["death", "death_date"],
  ["sex_birth", "sex, birth_date"],
  ["surname", "surname, given_name"],
  ["given", "given_name"],
  ["given_ci", "given_name", "given_name IS NOT NULL"],
  ["surname_ci", "surname", "surname IS NOT NULL"],
  // A `name` or `search_text` lookup tries every name part, each through its own index (social: reg_p_second_ci).
  ["second_ci", "second_name", "second_name IS NOT NULL"],
  ["locality", "locality"],
  ["region", "region"],
  ["registered", "registration_date"],
  ["updated", "last_updated"],
];
const GROUP: ReadonlyArray<readonly [string, string, string?]> = [
  ["type", "group_type"],
  ["locality", "locality"],
  ["region", "region"],
  ["registered", "registration_date"],
  ["updated", "last_updated"],
];

/** The name prefix of a storage record type's indexes (bulk.ts defers them by it). */
export function indexPrefix(storage: string): string {
  return `reg_r_${storage}_`;
}

/**
 * The CREATE INDEX statements of one non-social record type, each with its name (names and types are checked plain
 * constants), in SQLite's dialect or PostgreSQL's.
 */
export function recordTypeIndexList(
  rt: RecordTypeDef,
  dialect: "sqlite" | "postgres",
): Array<{ name: string; sql: string }> {
  const cols = rt.kind === "group" ? GROUP : PERSON;
  return cols.map(([suffix, columns, extra]) => {
    const name = `${indexPrefix(rt.storage)}${suffix}`;
    const key = !suffix.endsWith("_ci")
      ? columns
      : dialect === "sqlite"
      ? `${columns} COLLATE NOCASE`
      : `lower(${columns}) text_pattern_ops`;
    return {
      name,
      sql: `CREATE INDEX IF NOT EXISTS ${name} ON registrants (${key}) ` +
        `WHERE record_type = '${rt.storage}' AND deleted_at IS NULL${extra ? ` AND ${extra}` : ""}`,
    };
  });
}

/** Whether a bulk load has the indexes of this name prefix deferred (`?` = prefix length, prefix). */
export const DEFERRED_PREFIX = "SELECT 1 FROM registry_deferred_indexes WHERE substr(name, 1, ?) = ? LIMIT 1";

const ensured = new WeakMap<Db, Set<string>>();

/**
 * The set of registries connection `key` has checked, to add `registry` to once checked; undefined when it needs
 * no check (social, whose indexes the migrations create, or one already checked).
 */
export function registriesToCheck<K extends object>(
  checked: WeakMap<K, Set<string>>,
  key: K,
  registry: string,
): Set<string> | undefined {
  if (registry === "social") return undefined;
  let done = checked.get(key);
  if (!done) checked.set(key, done = new Set());
  return done.has(registry) ? undefined : done;
}

/**
 * Creates the indexes of `registry` when missing (once per connection and registry; inside the caller's
 * transaction when there is one). Skipped while a bulk load has them deferred: its end rebuilds them.
 */
export function ensureRegistryIndexes(db: Db, registry: string): void {
  const done = registriesToCheck(ensured, db, registry);
  if (!done) return;
  buildMissingRegistryIndexes(db, registry);
  done.add(registry);
}

/** Creates the indexes `registry` lacks now (missingRegistryIndexes), whatever the connection has checked. */
export function buildMissingRegistryIndexes(db: Db, registry: string): void {
  for (const i of missingRegistryIndexes(db, registry)) db.exec(i.sql);
}

/**
 * The indexes `registry` lacks now (a bulk load's deferred ones not counted: its end rebuilds them): what its first
 * write would create, the start-up's to build instead (registry/startup.ts).
 */
export function missingRegistryIndexes(db: Db, registry: string): Array<{ name: string; sql: string }> {
  const profile = profileOf(registry);
  if (registry === "social" || !profile) return [];
  const deferred = stmt(db, DEFERRED_PREFIX);
  const wanted = profile.recordTypes.filter((rt) => {
    const prefix = indexPrefix(rt.storage);
    return deferred.get(prefix.length, prefix) === undefined;
  }).flatMap((rt) => recordTypeIndexList(rt, "sqlite"));
  const rows = stmt(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'registrants'")
    .all();
  const present = new Set((rows as Array<{ name: string }>).map((r) => r.name));
  return wanted.filter((i) => !present.has(i.name));
}

/** Forgets which registries this connection has checked (after a bulk load deferred and rebuilt indexes). */
export function forgetEnsuredIndexes(db: Db): void {
  ensured.delete(db);
}
