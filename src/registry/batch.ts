/** Writing input records in batches: one transaction per batch, one savepoint per record. */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { InputError, readRegistrant } from "./model.ts";
import { saveRegistrant } from "./store.ts";
import { stmt } from "./statements.ts";

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

function reject(report: ImportReport, line: number, reason: string): void {
  report.rejectedCount++;
  if (report.rejected.length < MAX_REJECTIONS_KEPT) {
    report.rejected.push({ line, reason: reason.slice(0, 500) });
  }
}

/**
 * Writes one batch in one transaction (upsert by id); refused records go to the report. Records are checked
 * before writing, so the fast path needs no per-record savepoint; if SQLite still refuses one, the batch is
 * rolled back and written again with a savepoint around each record.
 */
export function writeBatch(
  db: Db,
  batch: SourceRecord[],
  report: ImportReport,
  options: { now: string; registry?: string; groupIds?: Map<string, number> },
): void {
  const local = emptyReport();
  try {
    transaction(db, () => writeRecords(db, batch, local, options, false));
  } catch (err) {
    if (!(err instanceof Error) || !/constraint/i.test(err.message)) throw err;
    options.groupIds?.clear();
    Object.assign(local, emptyReport());
    transaction(db, () => writeRecords(db, batch, local, options, true));
  }
  report.read += local.read;
  report.registered += local.registered;
  report.updated += local.updated;
  report.rejectedCount += local.rejectedCount;
  for (const r of local.rejected) if (report.rejected.length < MAX_REJECTIONS_KEPT) report.rejected.push(r);
}

function writeRecords(
  db: Db,
  batch: SourceRecord[],
  report: ImportReport,
  options: { now: string; registry?: string; groupIds?: Map<string, number> },
  careful: boolean,
): void {
  for (const rec of batch) {
    report.read++;
    if (rec.error !== undefined) {
      reject(report, rec.line, rec.error);
      continue;
    }
    if (careful) stmt(db, "SAVEPOINT rec").run();
    try {
      const reg = readRegistrant(rec.raw, options.now);
      const { eventType } = saveRegistrant(db, reg, { mode: "upsert", ...options });
      if (eventType === "update") report.updated++;
      else report.registered++;
      if (careful) stmt(db, "RELEASE rec").run();
    } catch (err) {
      const constraint = err instanceof Error && /constraint/i.test(err.message);
      if (careful) {
        stmt(db, "ROLLBACK TO rec").run();
        stmt(db, "RELEASE rec").run();
      } else if (constraint) throw err;
      if (err instanceof InputError) reject(report, rec.line, err.message);
      else if (constraint) reject(report, rec.line, (err as Error).message);
      else throw err;
    }
  }
}

/** Consumes records, writing every `batchSize`; calls `onProgress` after each batch. */
export async function writeAll(
  db: Db,
  source: AsyncIterable<SourceRecord> | Iterable<SourceRecord>,
  options: {
    now: () => string;
    batchSize?: number;
    registry?: string;
    onProgress?: (report: ImportReport) => void;
  },
): Promise<ImportReport> {
  const report = emptyReport();
  const size = options.batchSize ?? 5000;
  let batch: SourceRecord[] = [];
  const groupIds = new Map<string, number>();
  const flush = () => {
    if (batch.length === 0) return;
    writeBatch(db, batch, report, { now: options.now(), registry: options.registry, groupIds });
    batch = [];
    options.onProgress?.(report);
  };
  for await (const rec of source) {
    batch.push(rec);
    if (batch.length >= size) flush();
  }
  flush();
  return report;
}
