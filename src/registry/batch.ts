/**
 * Writing input records in batches, one transaction per batch arriving in chunks (PreparedBatch): new ids
 * through the multi-row fast path, the rest record by record; if SQLite refuses anything, the chunk is redone
 * with a savepoint per record.
 */
import type { Db } from "../db/sqlite.ts";
import { beginImmediate, finishTransaction, withinTransaction } from "../db/sqlite.ts";
import { InputError } from "./model.ts";
import { saveRegistrant, STORE_REGISTRY, waitForStagedLoad } from "./store.ts";
import { ensureRegistryIndexes } from "../registries/indexes.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import {
  discardPending,
  flushChunk,
  flushInserts,
  nextRegistrantId,
  type PendingInserts,
  pendingInserts,
} from "./fast_insert.ts";
import { fastSteps, identifierPairs } from "./fast_path.ts";
import { stmt } from "../db/statements.ts";
import { isSqliteConstraint } from "../db/faults.ts";
import { mergeStaged } from "./bulk.ts";
import type { KeyHashSet } from "./key_set.ts";
import {
  BATCH_RECORDS,
  CHUNK_RECORDS,
  chunkOf,
  type PreparedBatch,
  type PreparedRecord,
  prepareRecord,
  registrantOf,
} from "./prepared.ts";

/** One input record with the line it started on (0 when not from a file). */
export interface SourceRecord {
  line: number;
  raw?: unknown;
  /** Set when the record could not even be parsed. */
  error?: string;
}

/** A refused record. */
export interface Rejection {
  line: number;
  reason: string;
}

/** Running totals of an import or seed. */
export interface ImportReport {
  read: number;
  registered: number;
  updated: number;
  rejectedCount: number;
  /** The first rejections (at most `MAX_REJECTIONS_KEPT`). */
  rejected: Rejection[];
}

/** How many rejections a report keeps in memory (the count goes on). */
export const MAX_REJECTIONS_KEPT = 1000;

/** A fresh report. */
export function emptyReport(): ImportReport {
  return { read: 0, registered: 0, updated: 0, rejectedCount: 0, rejected: [] };
}

export function reject(report: ImportReport, line: number, reason: string): void {
  report.rejectedCount++;
  if (report.rejected.length < MAX_REJECTIONS_KEPT) {
    report.rejected.push({ line, reason: reason.slice(0, 500) });
  }
}

/** The registry written (social when not given: every record of a batch belongs to it) and the import's households. */
type WriteOptions = { registry?: string; groupIds?: Map<string, number> };

/**
 * A batch being written: its buffered rows, and the identifier keys (`type\0value`) its chunks met so far, stored
 * or waiting in `pending`. A key there whose record went to the checked path may be free after all: such a key
 * only sends a later record to the checked path too, which decides from the database.
 */
type BatchWrite = WriteOptions & { pending: PendingInserts; taken: Set<string> };

/**
 * Writes one chunk inside the batch's open transaction; returns its report (refused records included). Records are checked
 * before writing, so the fast path needs no per-record savepoint; if SQLite still refuses one, the chunk (and
 * only it, under its savepoint) is rolled back and written again with a savepoint around each record. Without
 * `savepoints` (a bulk load's), the refusal stops the load instead (BatchRefused).
 */
function writeChunk(
  db: Db,
  chunk: PreparedBatch,
  options: BatchWrite & { savepoints: boolean },
): ImportReport {
  const local = emptyReport();
  const deferred = options.pending.deferred;
  if (options.savepoints) stmt(db, "SAVEPOINT chunk").run();
  try {
    writeFast(db, chunk, local, options);
  } catch (err) {
    if (!(err instanceof Error) || !isSqliteConstraint(err)) throw err;
    if (!options.savepoints) throw new BatchRefused(chunk, err.message);
    stmt(db, "ROLLBACK TO chunk").run();
    discardPending(options.pending, deferred);
    options.groupIds?.clear();
    Object.assign(local, emptyReport());
    // The chunk's records may update earlier ones of the batch: their deferred values go in first.
    flushInserts(db, options.pending);
    writeCarefully(db, chunk, local, options);
  }
  if (options.savepoints) stmt(db, "RELEASE chunk").run();
  return local;
}

/**
 * A chunk SQLite refused after the fast path's checks, written without a savepoint (a bulk load's): its batch
 * cannot be partly kept, so it is rolled back and the load stops, naming the chunk's lines and SQLite's reason.
 */
export class BatchRefused extends Error {
  constructor(chunk: PreparedBatch, reason: string) {
    const lines = chunk.records.map((r) => r.line).filter((l) => l > 0);
    const where = lines.length > 0 ? `lines ${Math.min(...lines)}-${Math.max(...lines)}` : "a chunk";
    super(
      `the load stopped: SQLite refused a record of ${where} (${reason}); that record's batch was rolled back ` +
        "and the batches before it are kept; import the file again to go on (stored records are updated)",
    );
    this.name = "BatchRefused";
  }
}

/** Adds the counts and rejections of `part` to `report`. */
export function addReport(report: ImportReport, part: ImportReport): void {
  report.read += part.read;
  report.registered += part.registered;
  report.updated += part.updated;
  report.rejectedCount += part.rejectedCount;
  for (const r of part.rejected) if (report.rejected.length < MAX_REJECTIONS_KEPT) report.rejected.push(r);
}

/** Writes one record through the checked path (insert or update) and counts it. */
function upsertOne(
  db: Db,
  p: PreparedRecord,
  batch: PreparedBatch,
  report: ImportReport,
  options: WriteOptions,
): void {
  const { eventType } = saveRegistrant(db, registrantOf(p), {
    mode: "upsert",
    now: batch.now,
    groupIds: options.groupIds,
  });
  if (eventType === "update") report.updated++;
  else report.registered++;
}

function writeCarefully(db: Db, batch: PreparedBatch, report: ImportReport, options: WriteOptions): void {
  for (const p of batch.records) {
    report.read++;
    if (p.error !== undefined) {
      reject(report, p.line, p.error);
      continue;
    }
    stmt(db, "SAVEPOINT rec").run();
    try {
      upsertOne(db, p, batch, report, options);
      stmt(db, "RELEASE rec").run();
    } catch (err) {
      stmt(db, "ROLLBACK TO rec").run();
      stmt(db, "RELEASE rec").run();
      if (err instanceof InputError) reject(report, p.line, err.message);
      else if (err instanceof Error && isSqliteConstraint(err)) reject(report, p.line, err.message);
      else throw err;
    }
  }
}

/** The ids of a batch already stored: a seek each on the (external_id, registry) key. */
export const EXISTING_IDS = `SELECT r.external_id AS e FROM json_each(?) j
  JOIN registrants r ON r.external_id = j.value AND r.registry = ?`;
const OWNED_IDENTIFIERS = `SELECT i.id_type AS t, i.id_value AS v FROM json_each(?) j
  JOIN identifiers i ON i.id_type = j.value ->> 0 AND i.id_value = j.value ->> 1 AND i.registry = ? AND i.live = 1`;

/**
 * New ids go through the multi-row fast path (fast_insert.ts); an id that exists (in the store or earlier in
 * the batch), an identifier already taken, or a household not met in this import goes through
 * `saveRegistrant` after the buffer is flushed, which applies every check and reports the reason.
 */
function writeFast(
  db: Db,
  batch: PreparedBatch,
  report: ImportReport,
  options: BatchWrite,
): void {
  const ok = batch.records.filter((p) => p.error === undefined);
  const registry = options.registry ?? STORE_REGISTRY;
  ensureRegistryIndexes(db, registry);
  // Two look-ups for the whole batch instead of one per record and identifier.
  const seen = new Set(
    (stmt(db, EXISTING_IDS).all(JSON.stringify(ok.map((p) => p.externalId)), registry) as Array<
      { e: string }
    >)
      .map((r) => r.e),
  );
  // The identifiers of the batch's earlier chunks are in `taken` already: their rows wait in `pending` (see
  // PendingInserts.deferred), so the database does not know them yet.
  const taken = options.taken;
  const pending = options.pending;
  const pairs = identifierPairs(ok);
  if (pending.loadKeys && stagedTaken(pairs, taken, pending.loadKeys)) stopStaging(db, pending);
  for (
    const r of stmt(db, OWNED_IDENTIFIERS).all(JSON.stringify(pairs), registry) as Array<
      { t: string; v: string }
    >
  ) taken.add(`${r.t}\u0000${r.v}`);
  const steps = fastSteps(
    batch,
    report,
    { seen, taken, groupIds: options.groupIds, pending },
    () => nextRegistrantId(db, pending),
  );
  for (const step of steps) {
    // The records buffered so far go in first (this one may update one of them), with the batch's waiting
    // identifier, contact and value rows (the checked path reads them from the database, so a bulk load's staged
    // ones are merged first).
    flushInserts(db, pending);
    if (pending.loadKeys) stopStaging(db, pending);
    try {
      upsertOne(db, step.record!, batch, report, options);
    } catch (err) {
      // A constraint failure here means a check missed something: the caller redoes the batch carefully.
      if (err instanceof InputError) reject(report, step.record!.line, err.message);
      else throw err;
    }
  }
  flushChunk(db, pending);
}

/**
 * Whether an identifier of `pairs` not met earlier in the batch (`taken`) may be one of the load's staged rows
 * (`loadKeys`: every identifier the load met before this chunk); notes them all there. Such a row is not in the
 * identifiers table yet, so the caller merges the stage before looking the chunk's identifiers up.
 */
function stagedTaken(pairs: string[][], taken: Set<string>, loadKeys: KeyHashSet): boolean {
  let staged = false;
  const chunk = new Set<string>();
  for (const [type, value] of pairs) {
    const key = `${type}\u0000${value}`;
    if (taken.has(key) || chunk.has(key)) continue;
    chunk.add(key);
    if (!loadKeys.add(type, value)) staged = true;
  }
  return staged;
}

/**
 * Merges a bulk load's staged rows now, inside the batch, and writes the rest of the load's keyed rows straight
 * to their tables, as a plain load does. The merge checks each row's foreign key, a random read of the registrants
 * table (~7 µs a row): once at most, a load with a duplicate or an update costs about what it did before staging.
 */
function stopStaging(db: Db, pending: PendingInserts): void {
  mergeStaged(db);
  pending.loadKeys = undefined;
}

/**
 * Writes chunks of prepared records as they come, one transaction per batch (see PreparedBatch); calls
 * `onProgress` after each chunk, and `within` with the batch's own report inside its transaction, just before
 * the commit (an import job records its progress there, so the progress and the records commit together). A
 * batch whose chunks stop coming (the reader failed) is rolled back whole.
 */
export async function writePrepared(
  db: Db,
  batches: AsyncIterable<PreparedBatch>,
  options: {
    registry?: string;
    onProgress?: (report: ImportReport) => void;
    within?: (batchReport: ImportReport) => void;
    /** Called after each batch's commit, awaited before the next batch (a bulk load's checkpointer). */
    committed?: () => void | Promise<void>;
    /**
     * A bulk load's (into an empty registry): identifier, contact and value rows go to the stage tables and are
     * merged when the load ends (bulk.ts, `mergeStaged`; by the caller).
     */
    stage?: boolean;
    /**
     * Whether each chunk is written under a savepoint (default), so a chunk SQLite refuses is redone record by
     * record and the batch goes on. Without (a bulk load's): a savepoint copies every page the chunk changes
     * that the batch had changed already, which in a batch of hundreds of thousands of records is most of them
     * (at 3M persons, batches of 500,000: 361 s of writes with, 238 s without); a refused chunk then stops
     * the load (BatchRefused).
     */
    savepoints?: boolean;
  },
): Promise<ImportReport> {
  const report = emptyReport();
  let batchReport = emptyReport();
  const groupIds = new Map<string, number>();
  const pending = pendingInserts(options.stage);
  const write = {
    registry: options.registry,
    groupIds,
    pending,
    taken: new Set<string>(),
    savepoints: options.savepoints ?? true,
  };
  let open = false;
  const commit = () => {
    finishTransaction(db, () => {
      flushInserts(db, pending);
      options.within?.(batchReport);
    });
    open = false;
    write.taken.clear();
    batchReport = emptyReport();
    return options.committed?.();
  };
  try {
    for await (const chunk of batches) {
      if (chunk.records.length > 0) {
        if (!open) {
          beginImmediate(db);
          open = true;
          // Only a bulk load's own batches write beside its staged rows (their keys are in its in-memory set).
          if (!options.stage) waitForStagedLoad(db);
        }
        const part = withinTransaction(db, () => writeChunk(db, chunk, write));
        addReport(batchReport, part);
        addReport(report, part);
        options.onProgress?.(report);
      }
      if (open && chunk.last !== false) await commit();
    }
    if (open) await commit();
  } finally {
    if (open && db.isTransaction) db.exec("ROLLBACK");
  }
  return report;
}

/**
 * Groups source records of `profile`'s registry (social when not given) into batches of `size` records, each
 * read with `now()` at its start and yielded in chunks of at most CHUNK_RECORDS.
 */
export async function* prepareBatches(
  source: AsyncIterable<SourceRecord> | Iterable<SourceRecord>,
  size: number,
  now: () => string,
  profile?: RegistryProfile,
): AsyncGenerator<PreparedBatch> {
  let batch: PreparedBatch = { now: now(), records: [], last: false };
  let inBatch = 0;
  for await (const rec of source) {
    batch.records.push(prepareRecord(rec, batch.now, profile));
    inBatch++;
    if (inBatch >= size || batch.records.length >= CHUNK_RECORDS) {
      const last = inBatch >= size;
      yield chunkOf(batch.now, batch.records, last);
      if (last) inBatch = 0;
      batch = { now: last ? now() : batch.now, records: [], last: false };
    }
  }
  if (inBatch > 0) yield chunkOf(batch.now, batch.records, true);
}

/**
 * Consumes records of `options.profile`'s registry (social when not given), writing every `batchSize` (in
 * process); calls `onProgress` after each batch.
 */
export function writeAll(
  db: Db,
  source: AsyncIterable<SourceRecord> | Iterable<SourceRecord>,
  options: {
    now: () => string;
    batchSize?: number;
    profile?: RegistryProfile;
    onProgress?: (report: ImportReport) => void;
  },
): Promise<ImportReport> {
  return writePrepared(
    db,
    prepareBatches(source, options.batchSize ?? BATCH_RECORDS, options.now, options.profile),
    {
      registry: options.profile?.name,
      onProgress: options.onProgress,
    },
  );
}
