/** Everything with I/O or time, opened once and passed in: config, database, KV, clock, keys, log, metrics. */
import type { Config } from "./config.ts";
import { type Db, openDatabase } from "./db/sqlite.ts";
import { upgradeSchema } from "./db/schema_version.ts";
import { schemaVersion } from "./db/migrate.ts";
import { explainDataDirFailure } from "./db/open_failure.ts";
import { type Clock, systemClock } from "./clock.ts";
import { createLogger, type Logger } from "./obs/log.ts";
import { flushLogBuffer } from "./obs/log_buffer.ts";
import { Metrics } from "./obs/metrics.ts";
import { ServerKeys } from "./keys/server_keys.ts";
import { createOutboundClient, type OutboundClient } from "./net/outbound.ts";
import { type JobQueue, kvQueue } from "./jobs/queue.ts";
import { TokenGuard } from "./auth/token_guard.ts";
import { SenderBackoff } from "./auth/sender_backoff.ts";
import { OutboundTokens } from "./senders/outbound_auth.ts";
import { prepareDataDir, tightenDataFiles } from "./db/data_dir.ts";
import { loadKeyEncryption } from "./keys/kek.ts";
import { createSearchPool, type SearchPool } from "./registry/search_pool.ts";
import type { Extensions } from "./extensions.ts";
import { sqliteStorage, type Storage } from "./db/storage.ts";
import { TokenCache } from "./auth/token_cache.ts";
import { SenderKeyCache } from "./senders/key_cache.ts";
import { NotifierWake } from "./subscriptions/notifier_wake.ts";

/** The dependencies every factory closes over. */
export interface Deps {
  readonly config: Config;
  /** Every store the port to two backends has reached (src/db/storage.ts): use it rather than `db`. */
  readonly storage: Storage;
  /** The embedded SQLite database, for the stores not yet behind `storage`. */
  readonly db: Db;
  readonly kv: Deno.Kv;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly keys: ServerKeys;
  /** The one SSRF-guarded outbound HTTP client (tests swap it through WritableDeps, tests/helpers/deps.ts). */
  readonly http: OutboundClient;
  /**
   * The job queue (Deno KV): wakes the worker and delays retries; state lives in SQLite. Writable: `serve` and
   * an HTTP isolate replace it once, right after openDeps, with the queue on the process bus, which is joined
   * after openDeps because it reports through `metrics`.
   */
  queue: JobQueue;
  /** The token endpoint's bound on concurrent secret hashes and its verified-credential cache (per isolate). */
  readonly tokenGuard: TokenGuard;
  /** Senders refused for rate, noted until they may send again (per isolate): refused before any parsing. */
  readonly senderBackoff: SenderBackoff;
  /** OAuth2 tokens for senders' receivers, cached until shortly before they expire (per process). */
  readonly outboundTokens: OutboundTokens;
  /** Workers for searches that may examine many records (none for an in-memory database or 0 workers). */
  readonly searchPool?: SearchPool;
  /** The deployment's hooks (src/extensions.ts), when it started the server through src/mod.ts. */
  readonly extensions?: Extensions;
  /** Access tokens whose signature verified on these deps (src/auth/token_cache.ts; at most 10,000). */
  readonly tokenCache: TokenCache;
  /** Senders' imported active keys under their keys stamp (src/senders/key_cache.ts; one entry per sender). */
  readonly senderKeyCache: SenderKeyCache;
  /** The notifier running on these deps in this isolate, for wakeNotifier (src/subscriptions/notifier_wake.ts). */
  readonly notifierWake: NotifierWake;
}

/** The caches and holders each Deps owns: built once per Deps, never shared between two. */
export type DepsServices = Pick<Deps, "tokenCache" | "senderKeyCache" | "notifierWake">;

/**
 * New, empty services for one Deps: openDeps's, and those of a partial Deps a test or CLI helper builds (which
 * must have them too, or the first token it verifies fails on a missing cache).
 */
export function depsServices(): DepsServices {
  return {
    tokenCache: new TokenCache(),
    senderKeyCache: new SenderKeyCache(),
    notifierWake: new NotifierWake(),
  };
}

/**
 * Paths of the files under the data dir (":memory:" keeps everything in memory), and of the backup dir
 * (DCI_BACKUP_DIR, else `<data dir>/backups`; "" for an in-memory database).
 */
export function dataPaths(config: Config): { db: string; kv: string; backups: string } {
  const backups = config.backupDir.replace(/(.)\/+$/, "$1");
  if (config.dataDir === ":memory:") return { db: ":memory:", kv: ":memory:", backups };
  return {
    db: `${config.dataDir}/dci.sqlite`,
    kv: `${config.dataDir}/kv.sqlite3`,
    backups: backups || `${config.dataDir}/backups`,
  };
}

/**
 * The stores alone, for a CLI command that writes a row or two after its work (the audit entry) or migrates:
 * the embedded SQLite file, or the PostgreSQL database of DCI_DATABASE_URL (a pool of two connections).
 * `migrate: true` applies pending migrations first and reports them.
 */
export async function openStorage(
  config: Config,
  options: { migrate?: boolean; log?: Logger } = {},
): Promise<{ storage: Storage; applied: string[]; schemaVersion: number; close(): Promise<void> }> {
  if (config.databaseUrl !== "") {
    const { openPgPool } = await import("./db/pg/pool.ts");
    const { migratePg, pgSchemaVersion } = await import("./db/pg/migrate.ts");
    const { pgStorage } = await import("./db/pg/storage.ts");
    const pool = openPgPool(config.databaseUrl, { max: 2 });
    try {
      const applied = options.migrate ? await migratePg(pool) : [];
      const storage = pgStorage(pool);
      return { storage, applied, schemaVersion: await pgSchemaVersion(pool), close: () => storage.close() };
    } catch (err) {
      await pool.end();
      throw err;
    }
  }
  const paths = dataPaths(config);
  if (config.dataDir !== ":memory:") await prepareDataDir(config.dataDir, [paths.db]);
  const db = openDatabase(paths.db);
  try {
    const applied = options.migrate
      ? await upgradeSchema(db, {
        backupDir: paths.db === ":memory:" ? undefined : paths.backups,
        log: options.log ?? createLogger(config.logLevel),
        nowMs: Date.now(),
      })
      : [];
    return {
      storage: sqliteStorage(db, config.dataDir),
      applied,
      schemaVersion: schemaVersion(db),
      close: () => Promise.resolve(db.close()),
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Opens the database (migrated), KV and keys for `config`. `migrateOnOpen: false` leaves the schema alone. */
export async function openDeps(
  config: Config,
  options: {
    clock?: Clock;
    log?: Logger;
    migrateOnOpen?: boolean;
    ensureKey?: boolean;
    http?: OutboundClient;
    extensions?: Extensions;
  } = {},
): Promise<Deps> {
  if (config.databaseUrl !== "") {
    // Refused rather than half-served: the stores not yet ported would still write to a local SQLite file.
    throw new Error(
      "DCI_DATABASE_URL is set, but the PostgreSQL backend is not complete yet: registry records, events, " +
        "search and imports, notification fan-out, and the job queue still run on SQLite and Deno KV only " +
        "(see README, High availability). Leave DCI_DATABASE_URL empty to run on the embedded SQLite database.",
    );
  }
  const paths = dataPaths(config);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  const onDisk = config.dataDir !== ":memory:";
  const fixes = onDisk
    ? await prepareDataDir(config.dataDir, [paths.db, paths.kv]).catch((err) => {
      throw explainDataDirFailure(config.dataDir, err);
    })
    : [];
  const keks = await loadKeyEncryption(config);
  const db = openDatabase(paths.db, { cacheMb: config.sqliteCacheMb });
  let kv: Deno.Kv | undefined;
  try {
    const applied = options.migrateOnOpen === false ? [] : await upgradeSchema(db, {
      backupDir: paths.db === ":memory:" ? undefined : paths.backups,
      log,
      nowMs: clock.now(),
    });
    if (applied.length > 0) log.info("migrations applied", { migrations: applied });
    kv = await Deno.openKv(paths.kv);
    if (onDisk) fixes.push(...await tightenDataFiles(config.dataDir));
    // HTTP isolates (no migrations) open after the main isolate has tightened and reported everything.
    if (fixes.length > 0 && options.migrateOnOpen !== false) {
      log.warn("data dir permissions were looser than owner-only: tightened where this user owns them", {
        fixed: fixes.map((f) => `${f.path} ${f.from} -> ${f.to}`),
      });
    }
    const storage = sqliteStorage(db, config.dataDir);
    const sealing = await storage.serverKeys.sealSecrets(keks);
    if (sealing.sealed + sealing.resealed + sealing.opened > 0) {
      log.info("stored secrets brought in line with the key-encryption key", { ...sealing });
    }
    // The signer is loaded here, so signing reads it from the cache (src/keys/server_keys.ts).
    const keys = new ServerKeys(storage.serverKeys, config.senderId, clock, keks);
    if (options.ensureKey === false) await keys.load();
    else if (await keys.ensureActive()) log.info("server signing key created", { kid: keys.active().kid });
    const http = options.http ?? createOutboundClient(config, { log });
    const searchPool = config.searchWorkers > 0 && paths.db !== ":memory:"
      ? createSearchPool({ size: config.searchWorkers, dbPath: paths.db, config, log })
      : undefined;
    return {
      config,
      storage,
      db,
      kv,
      clock,
      log,
      metrics: new Metrics(),
      keys,
      http,
      queue: kvQueue(kv),
      tokenGuard: new TokenGuard({ hashConcurrency: config.tokenHashConcurrency }),
      senderBackoff: new SenderBackoff(),
      outboundTokens: new OutboundTokens(),
      searchPool,
      ...depsServices(),
      ...(options.extensions ? { extensions: options.extensions } : {}),
    };
  } catch (err) {
    kv?.close();
    db.close();
    throw err;
  }
}

/** Closes KV, the database and the outbound keep-alive connections; safe to call twice. */
export function closeDeps(deps: Deps): void {
  deps.searchPool?.close();
  deps.http.close?.();
  try {
    deps.kv.close();
  } catch { /* already closed */ }
  if (deps.db.isOpen) deps.db.close();
  flushLogBuffer();
}
