/**
 * Which binary a database belongs to. `schema_migrations` says which migrations ran (by set: numbers are not
 * contiguous, see migrate.ts) and `schema_meta.migrated_by` the version of the binary that last applied any.
 * A binary refuses a database that a newer one migrated, or that holds migrations it does not carry: serving
 * it could misread or damage what the newer schema means. Before migrating a database that has data, the
 * server backs it up, so an upgrade can be undone by restoring that file and running the old binary.
 */
import type { Db } from "./sqlite.ts";
import { migrate, type Migration, MIGRATIONS } from "./migrate.ts";
import { backupDatabase, type BackupResult, fileStamp } from "./backup.ts";
import { compareVersions, VERSION } from "../version.ts";
import type { Logger } from "../obs/log.ts";

/** The database belongs to a newer binary. The CLI exits with code 2 and this message. */
export class DatabaseVersionError extends Error {
  readonly exitCode = 2;
}

/** Where a database stands for this binary. */
export interface SchemaState {
  /** The version that last migrated it ("" when unknown: a new database, or one from before this record). */
  migratedBy: string;
  /** Migrations recorded in the database, by name. */
  applied: string[];
  /** Recorded migrations this binary does not carry (a newer binary's). */
  unknown: string[];
  /** Migrations this binary carries that the database has not had. */
  pending: string[];
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Reads where `db` stands against `migrations` (the binary's), without changing anything. */
export function schemaState(db: Db, migrations: readonly Migration[] = MIGRATIONS): SchemaState {
  const rows = hasTable(db, "schema_migrations")
    ? db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as Array<
      { version: number; name: string }
    >
    : [];
  const known = new Set(migrations.map((m) => m.version));
  const done = new Set(rows.map((r) => Number(r.version)));
  const meta = hasTable(db, "schema_meta")
    ? db.prepare("SELECT value FROM schema_meta WHERE key = 'migrated_by'").get() as
      | { value: string }
      | undefined
    : undefined;
  return {
    migratedBy: meta?.value ?? "",
    applied: rows.map((r) => r.name),
    unknown: rows.filter((r) => !known.has(Number(r.version))).map((r) => r.name),
    pending: migrations.filter((m) => !done.has(m.version)).map((m) => m.name),
  };
}

/** Throws a DatabaseVersionError naming both versions when `state` belongs to a newer binary than `version`. */
export function assertServable(state: SchemaState, version = VERSION, what = "This database"): void {
  const newer = state.migratedBy && compareVersions(state.migratedBy, version) > 0;
  if (!newer && state.unknown.length === 0) return;
  const by = state.migratedBy ? `dci-server ${state.migratedBy}` : "a newer dci-server";
  const extra = state.unknown.length
    ? ` (it has migrations this binary does not know: ${state.unknown.join(", ")})`
    : "";
  throw new DatabaseVersionError(
    `${what} was migrated by ${by}${extra}; this binary is dci-server ${version} and will not serve it. ` +
      `Run dci-server ${
        state.migratedBy || "of that version"
      } or newer, or restore a backup taken before the upgrade.`,
  );
}

/** Records `version` as the binary that migrated `db`. */
function recordVersion(db: Db, version: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db.prepare(
    "INSERT INTO schema_meta (key, value) VALUES ('migrated_by', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  )
    .run(version);
}

/** Options of `upgradeSchema`. */
export interface UpgradeOptions {
  /** Where the pre-migration backup goes (the database is in memory when absent: no backup). */
  backupDir?: string;
  log: Logger;
  nowMs: number;
  migrations?: readonly Migration[];
  version?: string;
}

/**
 * Backs `db` up to `<base>.sqlite`, or `<base>-2.sqlite`, `-3`… when that name is taken: two processes starting
 * on one data dir in the same second (a server and a CLI command) each keep their own copy instead of the second
 * failing to start.
 */
async function backupBeside(db: Db, base: string): Promise<BackupResult> {
  for (let n = 1;; n++) {
    try {
      return await backupDatabase(db, n === 1 ? `${base}.sqlite` : `${base}-${n}.sqlite`);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists) || n >= 20) throw err;
    }
  }
}

/**
 * Brings `db` to this binary's schema: refuses a newer database (DatabaseVersionError), backs up a database
 * that has data before applying pending migrations (`pre-migrate-<from>-<to>-<stamp>.sqlite` in `backupDir`),
 * applies them, and records this version. Returns the migrations applied.
 */
export async function upgradeSchema(db: Db, options: UpgradeOptions): Promise<string[]> {
  const migrations = options.migrations ?? MIGRATIONS;
  const version = options.version ?? VERSION;
  const state = schemaState(db, migrations);
  assertServable(state, version);
  if (state.pending.length > 0 && state.applied.length > 0 && options.backupDir) {
    const from = state.migratedBy || "unknown";
    const base = `${options.backupDir}/pre-migrate-${from}-${version}-${fileStamp(options.nowMs)}`;
    const result = await backupBeside(db, base);
    options.log.info("database backed up before migrating", {
      file: result.path,
      bytes: result.bytes,
      from,
      to: version,
      migrations: state.pending,
    });
  }
  const applied = migrate(db, migrations);
  if (applied.length > 0 || !state.migratedBy) recordVersion(db, version);
  return applied;
}
