/**
 * Loading records into a registry: the import jobs' batches, the demo seed at start and `registry load`. One batch
 * (PreparedBatch chunks up to `last`) is one transaction on either backend: its records, their events in record
 * order, and the import job's progress commit together. New records take the multi-row fast path; a record whose
 * id exists, whose identifier is taken or whose household is not of this load takes saveRegistrant's checked
 * path, so rejections and report counts are the same on both backends. The SQLite implementation is the existing
 * synchronous code (batch.ts, bulk.ts), its statements and transactions unchanged; PostgreSQL's is pg_load_store.ts.
 */
import { type Db, transaction } from "../db/sqlite.ts";
import { buildMissingRegistryIndexes, missingRegistryIndexes } from "../registries/indexes.ts";
import { registryEmpty } from "./registry_store.ts";
import { stmt } from "../db/statements.ts";
import { type ImportReport, prepareBatches, type SourceRecord, writePrepared } from "./batch.ts";
import { deferIndexes, restoreIndexes } from "./bulk.ts";
import { BATCH_RECORDS, type PreparedBatch } from "./prepared.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { type ImportJobRun, recordProgress } from "./imports/store.ts";
import { startCheckpointer } from "../db/checkpointer.ts";

/** Options of a load. */
export interface LoadOptions {
  /** The registry written (social when not given): every record of the load belongs to it. */
  registry?: string;
  /** Called after each chunk with the running totals. */
  onProgress?: (report: ImportReport) => void;
  /**
   * The import job whose progress (counts, first rejections) commits with each batch, as this runner has it
   * (imports/store.ts ImportJobRun: its count moves on with each batch; a batch finding it moved by another runner
   * fails with ImportJobTaken).
   */
  importJob?: ImportJobRun;
  /** Records per transaction of the batches (a bulk load sizes SQLite's page cache by it). */
  batchSize?: number;
}

/**
 * SQLite's page cache in a bulk load (MB): 4 KB a record of the batch, 200 MB to 4 GB. A batch changes pages all
 * over the identifier and contact keys (random values); a cache that holds them writes each once per commit, a
 * smaller one writes them out and reads them back during the batch (at 3M persons, 200 MB and batches of 50,000:
 * 45 GB read and 34 GB written; 1.5 GB and batches of 500,000: 9 and 13 GB). The cache grows only as pages are
 * touched.
 */
export function bulkCacheMb(batchSize = BATCH_RECORDS): number {
  return Math.min(4000, Math.max(200, Math.round(batchSize * 0.004)));
}

/**
 * The batch size (records) from which a bulk load checkpoints on a thread of its own (db/checkpointer.ts): a
 * smaller batch writes less than the WAL's automatic checkpoint waits for (4,000 pages, about 13,000 records at
 * 1.3 KB each), so its commits copy nothing into the file anyway.
 */
export const CHECKPOINTER_BATCH = 20_000;

/**
 * Batches between the waits of a bulk load's writer for its checkpointer (`Checkpointer.drain`): the WAL holds at
 * most this many batches (10M persons, batches of 500,000: ~0.6 GB each), and the writer waits for one batch's
 * copy in this many instead of every one.
 */
const DRAIN_EVERY = 4;

/** Options of `writeAll`. */
export interface WriteAllOptions {
  now: () => string;
  /** Records per transaction (default BATCH_RECORDS). */
  batchSize?: number;
  profile?: RegistryProfile;
  onProgress?: (report: ImportReport) => void;
}

/** Loading records, on one backend. */
export interface RegistryLoadStore {
  /** Writes chunks of prepared records as they come, one transaction per batch; resolves with the totals. */
  write(batches: AsyncIterable<PreparedBatch>, options: LoadOptions): Promise<ImportReport>;
  /** Reads, prepares and writes source records of `options.profile`'s registry, `batchSize` per transaction. */
  writeAll(
    source: AsyncIterable<SourceRecord> | Iterable<SourceRecord>,
    options: WriteAllOptions,
  ): Promise<ImportReport>;
  /**
   * A bulk load (`registry load`, seeds): recreates indexes an interrupted load left deferred, then, when `bulk`
   * (default: the registry holds no registrant), defers the registry's search indexes for the load and rebuilds
   * them at its end, failed or not.
   */
  bulkLoad(
    batches: AsyncIterable<PreparedBatch>,
    options: LoadOptions & { bulk?: boolean },
  ): Promise<ImportReport>;
  /** Recreates the indexes an interrupted bulk load left deferred; how many. */
  restoreIndexes(): Promise<number>;
  /** How many of `registry`'s search indexes are missing (deferred ones not counted). */
  missingIndexes(registry: string): Promise<number>;
  /**
   * Creates `registry`'s missing search indexes (each a read of every registrant), as its first write would:
   * the start-up does it before serving (registry/startup.ts), so that no request waits for them.
   */
  buildIndexes(registry: string): Promise<void>;
  /**
   * Whether a `bulkLoad` into `registry` begun now would stage its keyed rows, written in any order and sorted
   * when merged (SQLite, into an empty registry: bulk.ts): its reader then need not sort them (`chunkOf`).
   */
  stagesKeyedRows(registry?: string): Promise<boolean>;
}

/** The batches of `writeAll` (shared by both backends). */
export function allBatches(
  source: AsyncIterable<SourceRecord> | Iterable<SourceRecord>,
  options: WriteAllOptions,
): AsyncGenerator<PreparedBatch> {
  return prepareBatches(source, options.batchSize ?? BATCH_RECORDS, options.now, options.profile);
}

/** Loading into the embedded SQLite database `db` (batch.ts and bulk.ts, as they are). */
export function sqliteLoadStore(db: Db): RegistryLoadStore {
  const write = (
    batches: AsyncIterable<PreparedBatch>,
    options: LoadOptions & { savepoints?: boolean; stage?: boolean; committed?: () => void | Promise<void> },
  ) => {
    const job = options.importJob;
    return writePrepared(db, batches, {
      registry: options.registry,
      onProgress: options.onProgress,
      within: job === undefined ? undefined : (part) => recordProgress(db, job, part),
      savepoints: options.savepoints,
      stage: options.stage,
      committed: options.committed,
    });
  };
  return {
    write,
    writeAll: (source, options) =>
      write(allBatches(source, options), { registry: options.profile?.name, onProgress: options.onProgress }),
    bulkLoad: async (batches, options) => {
      restoreIndexes(db);
      const cacheSize = (stmt(db, "PRAGMA cache_size").get() as { cache_size: number }).cache_size;
      db.exec(`PRAGMA cache_size = -${bulkCacheMb(options.batchSize) * 1000}`);
      // Durability stays WAL + synchronous=NORMAL during a bulk load: each batch commit survives a SIGKILL and
      // the database stays consistent (tests/faults/import_kill_test.ts). synchronous=OFF would also survive a
      // killed process, but an OS crash or power cut mid-load could then corrupt the whole file (senders, keys,
      // transactions too), and leaving WAL needs every other connection (a running server) closed. Fewer,
      // larger commits (--batch) get most of what OFF would save.
      const bulk = options.bulk ?? registryEmpty(db, options.registry);
      if (bulk) deferIndexes(db, options.registry);
      // A big batch's pages are copied from the WAL into the file on another thread (db/checkpointer.ts).
      const checkpointer = bulk && (options.batchSize ?? BATCH_RECORDS) >= CHECKPOINTER_BATCH
        ? startCheckpointer(db)
        : undefined;
      let commits = 0;
      try {
        // Into an empty registry, chunks go without savepoints (see writePrepared): a chunk SQLite refuses after
        // the checks stops the load instead of being redone record by record. Its keyed rows are staged, merged
        // by restoreIndexes below.
        return await write(batches, {
          ...options,
          savepoints: !bulk,
          stage: bulk,
          // Every DRAIN_EVERY batches the writer waits for the copy, and the WAL starts again (checkpointer.ts).
          committed: checkpointer &&
            (() => ++commits % DRAIN_EVERY === 0 ? checkpointer.drain() : checkpointer.checkpoint()),
        });
      } finally {
        await checkpointer?.close();
        // The connection's own page cache again before the rebuild (see restoreIndexes).
        db.exec(`PRAGMA cache_size = ${cacheSize}`);
        if (bulk) restoreIndexes(db);
      }
    },
    restoreIndexes: () => Promise.try(() => restoreIndexes(db)),
    missingIndexes: (registry) => Promise.try(() => missingRegistryIndexes(db, registry).length),
    buildIndexes: (registry) =>
      Promise.try(() => transaction(db, () => buildMissingRegistryIndexes(db, registry))),
    stagesKeyedRows: (registry) => Promise.try(() => registryEmpty(db, registry)),
  };
}
