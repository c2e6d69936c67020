/** Everything with I/O or time, opened once and passed in: config, database, KV, clock, keys, log, metrics. */
import type { Config } from "./config.ts";
import { type Db, openDatabase } from "./db/sqlite.ts";
import { DataDirBusyError, type DataDirLock, holdServeLock, LOCK_FILE } from "./db/data_dir_lock.ts";
import { assertServable, DatabaseVersionError, schemaState, upgradeSchema } from "./db/schema_version.ts";
import { schemaVersion } from "./db/migrate.ts";
import { explainDataDirFailure } from "./db/open_failure.ts";
import { type Clock, systemClock } from "./clock.ts";
import { createLogger, type Logger } from "./obs/log.ts";
import { flushLogBuffer } from "./obs/log_buffer.ts";
import { Metrics } from "./obs/metrics.ts";
import { ServerKeys } from "./keys/server_keys.ts";
import { createOutboundClient, type OutboundClient } from "./net/outbound.ts";
import { type JobQueue, kvQueue, type KvQueueOptions, type QueueMessage } from "./jobs/queue.ts";
import { openBus, type ProcessBus } from "./jobs/bus.ts";
import { TokenGuard } from "./auth/token_guard.ts";
import { SenderBackoff } from "./auth/sender_backoff.ts";
import { OutboundTokens } from "./senders/outbound_auth.ts";
import { prepareDataDir, tightenDataFiles } from "./db/data_dir.ts";
import { loadKeyEncryption } from "./keys/kek.ts";
import { createSearchPool, type SearchPool } from "./registry/search_pool.ts";
import type { Extensions } from "./extensions.ts";
import { sqliteStorage, type Storage } from "./db/storage.ts";
import type { PgPool } from "./db/pg/pool.ts";
import { TokenCache } from "./auth/token_cache.ts";
import { BearerRowCache } from "./auth/bearer_rows.ts";
import { SenderKeyCache } from "./senders/key_cache.ts";
import { NotifierWake } from "./subscriptions/notifier_wake.ts";
import { KnownAdminTokens } from "./admin/known_tokens.ts";

/** The dependencies every factory closes over. */
export interface Deps {
  readonly config: Config;
  /** Every store the port to two backends has reached (src/db/storage.ts): use it rather than `db`. */
  readonly storage: Storage;
  /** The embedded SQLite database (absent on PostgreSQL): SQLite-only features (busy timeout, disk-full state). */
  readonly db?: Db;
  /** Deno KV, the SQLite deployment's queue (absent on PostgreSQL). */
  readonly kv?: Deno.Kv;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly keys: ServerKeys;
  /** The one SSRF-guarded outbound HTTP client (tests swap it through WritableDeps, tests/helpers/deps.ts). */
  readonly http: OutboundClient;
  /**
   * The job queue (Deno KV on SQLite, LISTEN/NOTIFY on PostgreSQL): wakes the worker and delays retries; state
   * lives in the database. On the process bus when openDeps joined one (`OpenDepsOptions.bus`).
   */
  readonly queue: JobQueue;
  /** The process bus to this server's other isolates, when openDeps joined one (closeDeps closes it). */
  readonly bus?: ProcessBus;
  /** Closes what openDeps opened for the stores (closeDeps calls it). */
  readonly closeStorage: () => Promise<void>;
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
  /** Client rows the bearer check read, confirmed in the admission's write (src/auth/bearer_rows.ts; SQLite). */
  readonly bearerRows: BearerRowCache;
  /** Senders' imported active keys under their keys stamp (src/senders/key_cache.ts; one entry per sender). */
  readonly senderKeyCache: SenderKeyCache;
  /** The notifier running on these deps in this isolate, for wakeNotifier (src/subscriptions/notifier_wake.ts). */
  readonly notifierWake: NotifierWake;
  /** Admin tokens verified here within the day, spared the all-clients failure limit (src/admin/known_tokens.ts). */
  readonly knownAdminTokens: KnownAdminTokens;
}

/** Deps on the embedded SQLite database, with its KV (tests, benchmarks, SQLite-only tools). */
export type SqliteDeps = Deps & { readonly db: Db; readonly kv: Deno.Kv };

/** `deps` as SqliteDeps; throws when they are on PostgreSQL (for code that only runs on the embedded default). */
export function onSqlite(deps: Deps): SqliteDeps {
  if (!deps.db || !deps.kv) {
    throw new Error("this needs the embedded SQLite database (DCI_DATABASE_URL is set)");
  }
  return deps as SqliteDeps;
}

/** openDeps for code that only runs on the embedded SQLite database (tests, benchmarks). */
export async function openSqliteDeps(config: Config, options: OpenDepsOptions = {}): Promise<SqliteDeps> {
  return onSqlite(await openDeps(config, options));
}

/** The caches and holders each Deps owns: built once per Deps, never shared between two. */
export type DepsServices = Pick<
  Deps,
  "tokenCache" | "bearerRows" | "senderKeyCache" | "notifierWake" | "knownAdminTokens"
>;

/**
 * New, empty services for one Deps: openDeps's, and those of a partial Deps a test or CLI helper builds (which
 * must have them too, or the first token it verifies fails on a missing cache).
 */
export function depsServices(): DepsServices {
  return {
    tokenCache: new TokenCache(),
    bearerRows: new BearerRowCache(),
    senderKeyCache: new SenderKeyCache(),
    notifierWake: new NotifierWake(),
    knownAdminTokens: new KnownAdminTokens(),
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

/** The data dir a command names holds no database (a typo, most likely): exit code 2, and nothing is created. */
export class NoDatabaseError extends Error {
  /** Bad usage, as the CLI reports it. */
  readonly exitCode = 2;
}

/**
 * Throws NoDatabaseError unless the embedded database file exists in the data dir (not empty), for the commands
 * that must not create one there; PostgreSQL (DCI_DATABASE_URL) and ":memory:" pass. Other stat failures (a dir
 * this user may not read) are left to openDeps, which explains them.
 */
export async function requireDatabase(config: Config): Promise<void> {
  if (config.databaseUrl !== "" || config.dataDir === ":memory:") return;
  const path = dataPaths(config).db;
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) return;
    size = 0;
  }
  if (size === 0) {
    throw new NoDatabaseError(
      `no database at ${path}: check --data-dir / DCI_DATA_DIR (serve or migrate creates one)`,
    );
  }
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
    const { pool, storage, applied } = await openPgStores(config, {
      max: 2,
      migrate: options.migrate === true,
    });
    try {
      const { pgSchemaVersion } = await import("./db/pg/migrate.ts");
      return { storage, applied, schemaVersion: await pgSchemaVersion(pool), close: () => storage.close() };
    } catch (err) {
      await pool.end();
      throw err;
    }
  }
  const paths = dataPaths(config);
  if (config.dataDir !== ":memory:") await prepareDataDir(config.dataDir, [paths.db]);
  const lock = holdDataDir(config.dataDir);
  let db: Db | undefined;
  try {
    const opened = db = openDatabase(paths.db);
    const applied = options.migrate
      ? await upgradeSqlite(opened, config, options.log ?? createLogger(config.logLevel), Date.now())
      : [];
    return {
      storage: sqliteStorage(opened, config.dataDir),
      applied,
      schemaVersion: schemaVersion(opened),
      close: () => {
        opened.close();
        lock?.release();
        return Promise.resolve();
      },
    };
  } catch (err) {
    db?.close();
    lock?.release();
    throw err;
  }
}

/** What openDeps opens per backend: the stores, the queue's maker, and what only SQLite has. */
interface Opened {
  storage: Storage;
  db?: Db;
  kv?: Deno.Kv;
  searchPool?: SearchPool;
  makeQueue(options: KvQueueOptions): JobQueue;
  close(): Promise<void>;
}

/** The process bus an isolate of a server with HTTP isolates joins (src/jobs/bus.ts). */
export interface BusMembership {
  /** The channel's name (the main isolate's newBusName()). */
  name: string;
  /** This isolate's id ("main", "http-1", …). */
  isolate: string;
  /** How many isolates share the bus. */
  isolates: number;
  /** True when another isolate on the bus runs the worker (this one is an HTTP isolate). */
  workerOnBus: boolean;
  /** An HTTP isolate's way to its main isolate (its worker port), which wake-ups take (src/jobs/bus.ts). */
  toMain?: (messages: QueueMessage[]) => void;
}

/** Options of openDeps. */
export interface OpenDepsOptions {
  /** Join this process bus: wake-ups travel over it and `/metrics` sums every isolate's. */
  bus?: BusMembership;
  clock?: Clock;
  log?: Logger;
  /**
   * The schema: migrated (true, the default: a server's main isolate), left as it is (false: an HTTP isolate,
   * whose main isolate migrated), or "new" (a CLI command; a SQLite server started with DCI_WORKER=false, which
   * runs beside the one server with the worker): a new database is migrated, one with migrations
   * pending (a server of the previous version may be serving it) or from a newer binary is refused
   * (DatabaseVersionError, exit 2). Only a migrating open brings stored secrets in line with the key-encryption
   * key: a command run with other KEK settings than the server's must not re-seal them under it.
   */
  migrateOnOpen?: boolean | "new";
  ensureKey?: boolean;
  http?: OutboundClient;
  extensions?: Extensions;
}

/**
 * Opens the database (migrated), the queue and keys for `config`: the embedded SQLite file with Deno KV, or the
 * PostgreSQL database of DCI_DATABASE_URL (no KV: wake-ups by LISTEN/NOTIFY). `migrateOnOpen: false` leaves the
 * schema alone.
 */
export async function openDeps(config: Config, options: OpenDepsOptions = {}): Promise<Deps> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  const keks = await loadKeyEncryption(config);
  const opened = config.databaseUrl !== ""
    ? await openPostgres(config, options, log, clock)
    : await openSqlite(config, options, log, clock);
  try {
    const storage = opened.storage;
    if (options.migrateOnOpen === undefined || options.migrateOnOpen === true) {
      const sealing = await storage.serverKeys.sealSecrets(keks);
      if (sealing.sealed + sealing.resealed + sealing.opened > 0) {
        log.info("stored secrets brought in line with the key-encryption key", { ...sealing });
      }
    }
    // The signer is loaded here, so signing reads it from the cache (src/keys/server_keys.ts).
    const keys = new ServerKeys(storage.serverKeys, config.senderId, clock, keks, {
      log,
      publishSeconds: config.keyPublishSeconds,
    });
    if (options.ensureKey === false) await keys.load();
    else if (await keys.ensureActive()) log.info("server signing key created", { kid: keys.active().kid });
    const metrics = new Metrics();
    const member = options.bus;
    const bus = member
      ? openBus(member.name, {
        isolate: member.isolate,
        isolates: member.isolates,
        metrics,
        toMain: member.toMain,
      })
      : undefined;
    if (bus) metrics.setPeers(() => bus.peerMetrics());
    return {
      config,
      storage,
      db: opened.db,
      kv: opened.kv,
      clock,
      log,
      metrics,
      keys,
      http: options.http ?? createOutboundClient(config, { log }),
      queue: opened.makeQueue(bus ? { bus, workerOnBus: member!.workerOnBus } : {}),
      ...(bus ? { bus } : {}),
      tokenGuard: new TokenGuard({ hashConcurrency: config.tokenHashConcurrency }),
      senderBackoff: new SenderBackoff(),
      outboundTokens: new OutboundTokens(),
      searchPool: opened.searchPool,
      closeStorage: opened.close,
      ...depsServices(),
      ...(options.extensions ? { extensions: options.extensions } : {}),
    };
  } catch (err) {
    await opened.close();
    throw err;
  }
}

/**
 * The data dir's lock, shared (as every server holds it), for as long as the database is open; none in memory.
 * Every process that opens the database holds it, the CLI's commands too, so a restore (which holds it alone)
 * never runs under one, and none starts while a restore runs (DataDirBusyError names the restore).
 */
function holdDataDir(dataDir: string): DataDirLock | undefined {
  if (dataDir === ":memory:") return undefined;
  try {
    return holdServeLock(dataDir);
  } catch (err) {
    if (err instanceof DataDirBusyError) throw err;
    throw new Error(
      `the data dir's lock file ${dataDir}/${LOCK_FILE} cannot be used: ${(err as Error).message}`,
    );
  }
}

/** The embedded SQLite database and Deno KV in the data dir. */
async function openSqlite(
  config: Config,
  options: OpenDepsOptions,
  log: Logger,
  clock: Clock,
): Promise<Opened> {
  const paths = dataPaths(config);
  const onDisk = config.dataDir !== ":memory:";
  const fixes = onDisk
    ? await prepareDataDir(config.dataDir, [paths.db, paths.kv]).catch((err) => {
      throw explainDataDirFailure(config.dataDir, err);
    })
    : [];
  const lock = holdDataDir(config.dataDir);
  let db: Db | undefined;
  let kv: Deno.Kv | undefined;
  try {
    db = openDatabase(paths.db, { cacheMb: config.sqliteCacheMb });
    const migrating = options.migrateOnOpen === "new" ? isNewSqlite(db) : options.migrateOnOpen !== false;
    const applied = migrating ? await upgradeSqlite(db, config, log, clock.now()) : [];
    if (applied.length > 0) log.info("migrations applied", { migrations: applied });
    const openKv = kv = await Deno.openKv(paths.kv);
    if (onDisk) fixes.push(...await tightenDataFiles(config.dataDir));
    reportFixes(fixes, options, log);
    const searchPool = config.searchWorkers > 0 && paths.db !== ":memory:"
      ? createSearchPool({ size: config.searchWorkers, dbPath: paths.db, config, log })
      : undefined;
    return {
      storage: sqliteStorage(db, config.dataDir),
      db,
      kv,
      searchPool,
      makeQueue: (o) => kvQueue(openKv, o),
      close: () => {
        searchPool?.close();
        try {
          openKv.close();
        } catch { /* already closed */ }
        if (db!.isOpen) db!.close();
        lock?.release();
        return Promise.resolve();
      },
    };
  } catch (err) {
    kv?.close();
    db?.close();
    lock?.release();
    throw err;
  }
}

/**
 * The PostgreSQL database of DCI_DATABASE_URL (loaded only then: the driver stays out of an embedded server's
 * module graph). The data dir holds only this instance's files (spools of uploads in progress, the serve lock).
 */
async function openPostgres(
  config: Config,
  options: OpenDepsOptions,
  log: Logger,
  clock: Clock,
): Promise<Opened> {
  if (config.dataDir !== ":memory:") {
    const fixes = await prepareDataDir(config.dataDir, []).catch((err) => {
      throw explainDataDirFailure(config.dataDir, err);
    });
    reportFixes(fixes, options, log);
  }
  const { pgQueue } = await import("./jobs/pg_queue.ts");
  const { pool, storage, applied } = await openPgStores(config, {
    max: config.databasePoolSize,
    migrate: options.migrateOnOpen === "new" ? "new" : options.migrateOnOpen !== false,
    log,
  });
  if (applied.length > 0) log.info("migrations applied", { migrations: applied });
  if (options.migrateOnOpen === undefined || options.migrateOnOpen === true) {
    await warnClockSkew(pool, clock, log, config);
  }
  const queues: Array<{ close(): Promise<void> }> = [];
  return {
    storage,
    makeQueue: (o) => {
      const q = pgQueue(pool, { ...o, log });
      queues.push(q);
      return q;
    },
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
      if (!pool.ended) await storage.close();
    },
  };
}

/**
 * A server's main isolate on PostgreSQL: warns when its clock is off the database's by more than
 * CLOCK_SKEW_WARN_MS (src/db/pg/clock_skew.ts). A failed check is logged at debug and changes nothing.
 */
async function warnClockSkew(pool: PgPool, clock: Clock, log: Logger, config: Config): Promise<void> {
  const { pgClockSkew, CLOCK_SKEW_WARN_MS } = await import("./db/pg/clock_skew.ts");
  const skew = await pgClockSkew(pool, clock).catch((err) => {
    log.debug("clock check against the database failed", { err });
    return 0;
  });
  if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS) return;
  log.warn(
    "this instance's clock is off the database's: instances compare their clocks through it (leases, due " +
      "times), so keep every instance's clock synchronised (NTP)",
    { database_ahead_ms: Math.round(skew), lease_seconds: config.leaseSeconds },
  );
}

/**
 * A pool on DCI_DATABASE_URL (the driver loaded only then: it stays out of an embedded server's module graph),
 * migrated first when `migrate`, and the stores on it.
 */
async function openPgStores(
  config: Config,
  options: { max: number; migrate: boolean | "new"; log?: Logger },
): Promise<{ pool: PgPool; storage: Storage; applied: string[] }> {
  const { openPgPool } = await import("./db/pg/pool.ts");
  const { migratePg, pgMigrationState } = await import("./db/pg/migrate.ts");
  const { pgStorage } = await import("./db/pg/storage.ts");
  const log = options.log;
  const pool = openPgPool(config.databaseUrl, {
    max: options.max,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    onIdleError: log &&
      ((err) => log.warn("an idle PostgreSQL connection failed; the pool opens another", { err })),
  });
  try {
    let migrating = options.migrate === true;
    if (!migrating) {
      // Read whatever the mode: it refuses a database a newer binary migrated (migratePg does when migrating).
      const state = await pgMigrationState(pool);
      if (options.migrate === "new") {
        assertNonePending(state.applied > 0 ? state.pending : []);
        migrating = state.applied === 0;
      }
    }
    const applied = migrating ? await migratePg(pool) : [];
    return { pool, storage: pgStorage(pool), applied };
  } catch (err) {
    await pool.end();
    throw withoutDatabaseUrl(err, config.databaseUrl);
  }
}

/**
 * How a server opens its database (`openDeps`' migrateOnOpen): migrated, unless it is a SQLite server without the
 * worker, which migrates only a new database; the worker's server, perhaps of the previous version, serves one
 * with migrations pending (PostgreSQL instances migrate one at a time, as a rolling upgrade starts them).
 */
export function serverMigration(config: Config): true | "new" {
  return config.worker || config.databaseUrl ? true : "new";
}

/**
 * `err` with DCI_DATABASE_URL and its password written `[redacted]` in its message (the driver's errors may
 * repeat the URL it was given; the message goes to stderr and the journal).
 */
export function withoutDatabaseUrl(err: unknown, databaseUrl: string): unknown {
  if (!(err instanceof Error) || databaseUrl === "") return err;
  let password = "";
  try {
    password = decodeURIComponent(new URL(databaseUrl).password);
  } catch { /* the config refuses a URL that does not parse */ }
  const secrets = [databaseUrl, password, encodeURIComponent(password)].filter((s) => s.length >= 4);
  if (!secrets.some((s) => err.message.includes(s))) return err;
  let message = err.message;
  for (const s of secrets) message = message.replaceAll(s, "[redacted]");
  const redacted = new Error(message);
  redacted.name = err.name;
  return Object.assign(redacted, { code: (err as { code?: unknown }).code });
}

/**
 * For a CLI command (`migrateOnOpen: "new"`), whether `db` is new (to be migrated); one with migrations pending is
 * refused, as one from a newer binary is (DatabaseVersionError): a command of a newer binary run before its
 * server is restarted must not migrate the database under the running older server (a migration that changes a
 * table its statements use makes every request of that server fail until it is restarted).
 */
function isNewSqlite(db: Db): boolean {
  const state = schemaState(db);
  assertServable(state);
  if (state.applied.length === 0) return true;
  assertNonePending(state.pending);
  return false;
}

function assertNonePending(pending: readonly string[]): void {
  if (pending.length === 0) return;
  throw new DatabaseVersionError(
    `the database is older than this binary (${pending.length} migration${
      pending.length === 1 ? "" : "s"
    } pending: ${
      pending.join(", ")
    }), and a server of the previous version may be serving it: commands and servers started with ` +
      `DCI_WORKER=false do not migrate it. Stop the servers on it, then start the new server with its worker (it ` +
      `migrates, after a backup) or run dci-server migrate, and run this again`,
  );
}

/** Applies the SQLite migrations not yet applied (a backup first, in the backup dir, when the file is on disk). */
function upgradeSqlite(db: Db, config: Config, log: Logger, nowMs: number): Promise<string[]> {
  const paths = dataPaths(config);
  return upgradeSchema(db, { backupDir: paths.db === ":memory:" ? undefined : paths.backups, log, nowMs });
}

/** Logs the data dir permission fixes once, from the main isolate (HTTP isolates open after it, no migrations). */
function reportFixes(
  fixes: Array<{ path: string; from: string; to: string }>,
  options: OpenDepsOptions,
  log: Logger,
) {
  if (fixes.length > 0 && options.migrateOnOpen !== false) {
    log.warn("data dir permissions were looser than owner-only: tightened where this user owns them", {
      fixed: fixes.map((f) => `${f.path} ${f.from} -> ${f.to}`),
    });
  }
}

/** Closes the stores, KV, the queue's connection and the outbound keep-alive connections; safe to call twice. */
export async function closeDeps(deps: Deps): Promise<void> {
  deps.bus?.close();
  deps.http.close?.();
  await deps.closeStorage();
  flushLogBuffer();
}
