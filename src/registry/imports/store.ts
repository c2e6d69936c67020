/**
 * The import jobs' rows (migration 0021): one row per uploaded file with its state and running counts, and its
 * first rejected rows. The progress of a batch is written in the batch's own transaction (`recordProgress`).
 */
import type { Db } from "../../db/sqlite.ts";
import { transaction } from "../../db/sqlite.ts";
import { stmt } from "../../db/statements.ts";
import { type ImportReport, MAX_REJECTIONS_KEPT, type Rejection } from "../batch.ts";
import type { ImportFormat } from "../sources.ts";

/** Where an import job stands. */
export type ImportState = "queued" | "running" | "done" | "failed";

/** An import job as stored. */
export interface ImportJob {
  id: number;
  registry: string;
  format: ImportFormat;
  fileName: string;
  bytes: number;
  spoolFile: string;
  state: ImportState;
  error: string | null;
  read: number;
  registered: number;
  updated: number;
  rejectedCount: number;
  actor: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * The statements both backends run word for word (PostgreSQL: `pgText`; aliases quoted, as PostgreSQL folds an
 * unquoted one to lower case).
 */
export const IMPORT_SQL = {
  select:
    `SELECT id, registry, format, file_name AS "fileName", bytes, spool_file AS "spoolFile", state, error,
  read, registered, updated, rejected_count AS "rejectedCount", actor, created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt" FROM registry_imports`,
  create:
    `INSERT INTO registry_imports (registry, format, file_name, bytes, spool_file, state, actor, created_at)
     VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id`,
  rejects: "SELECT line, reason FROM registry_import_rejects WHERE import_id = ? ORDER BY seq",
  open: "SELECT id FROM registry_imports WHERE state IN ('queued', 'running') ORDER BY id",
  openSpool: "SELECT spool_file AS f FROM registry_imports WHERE state IN ('queued', 'running')",
  // Only a job not ended: a runner that read the job just before another ended it must not reopen it.
  running: `UPDATE registry_imports SET state = 'running', started_at = COALESCE(started_at, ?)
    WHERE id = ? AND state IN ('queued', 'running')`,
  // A job ends once: a second runner that met it ended (its spool removed under it, say) changes nothing.
  finish: `UPDATE registry_imports SET state = ?, error = ?, finished_at = ?
    WHERE id = ? AND state IN ('queued', 'running')`,
  // (cutoff, chunk): finished jobs (done or failed) that ended before the cutoff, with their rejected rows.
  purge: `DELETE FROM registry_imports WHERE id IN (SELECT id FROM registry_imports
    WHERE state IN ('done', 'failed') AND finished_at < ? LIMIT ?+0)`,
} as const;
const SELECT = IMPORT_SQL.select;

/** `listImportJobs`' statement and the page it makes of its rows (both backends). */
export const LIST_SQL = `${SELECT} WHERE registry = ? AND id < ? ORDER BY id DESC LIMIT ?+0`;

/** The page of `rows` read with LIST_SQL and `limit`. */
export function importPage(
  rows: ImportJob[],
  limit: number,
): { items: ImportJob[]; nextBefore: number | null } {
  const items = rows.map((r) => ({ ...r }));
  return { items, nextBefore: items.length === limit ? items[items.length - 1].id : null };
}

/** The values of `finishImportJob`'s statement. */
export function finishValues(id: number, now: string, error?: string): Array<string | number | null> {
  return [
    error === undefined ? "done" : "failed",
    error === undefined ? null : error.slice(0, 1000),
    now,
    id,
  ];
}

/** Rejection rows as plain objects. */
export function rejectionsOf(rows: Rejection[]): Rejection[] {
  return rows.map((r) => ({ line: r.line, reason: r.reason }));
}

/** What a new job records about its spooled file. */
export interface NewImportJob {
  registry: string;
  format: ImportFormat;
  fileName: string;
  bytes: number;
  spoolFile: string;
  actor?: string;
}

/** The values of IMPORT_SQL.create. */
export function createValues(job: NewImportJob, now: string): Array<string | number | null> {
  return [job.registry, job.format, job.fileName, job.bytes, job.spoolFile, job.actor ?? null, now];
}

/** Adds a queued job for a spooled file; returns its id. */
export function createImportJob(db: Db, job: NewImportJob, now: string): number {
  return Number((stmt(db, IMPORT_SQL.create).get(...createValues(job, now)) as { id: number }).id);
}

/** One job, or undefined. */
export function getImportJob(db: Db, id: number, registry?: string): ImportJob | undefined {
  const row = stmt(db, `${SELECT} WHERE id = ? AND (? IS NULL OR registry = ?)`).get(
    id,
    registry ?? null,
    registry ?? null,
  ) as ImportJob | undefined;
  return row && { ...row };
}

/** A registry's jobs, newest first, paged by id (`before`: the last id of the previous page). */
export function listImportJobs(
  db: Db,
  registry: string,
  options: { before?: number; limit: number },
): { items: ImportJob[]; nextBefore: number | null } {
  const rows = stmt(db, LIST_SQL).all(
    registry,
    options.before ?? Number.MAX_SAFE_INTEGER,
    options.limit,
  ) as unknown as ImportJob[];
  return importPage(rows, options.limit);
}

/** The rejected rows kept for a job, in file order. */
export function importRejects(db: Db, id: number): Rejection[] {
  return rejectionsOf(stmt(db, IMPORT_SQL.rejects).all(id) as unknown as Rejection[]);
}

/** The ids of jobs not finished (queued, or running when the process stopped), oldest first. */
export function openImportJobs(db: Db): number[] {
  return (stmt(db, IMPORT_SQL.open).all() as Array<{ id: number }>).map((r) => Number(r.id));
}

/** The spool files of the jobs not finished. */
export function openSpoolFiles(db: Db): Set<string> {
  return new Set((stmt(db, IMPORT_SQL.openSpool).all() as Array<{ f: string }>).map((r) => r.f));
}

/** Marks a job running (keeps its first start time when it is resumed). */
export function markImportRunning(db: Db, id: number, now: string): boolean {
  return transaction(db, () => Number(stmt(db, IMPORT_SQL.running).run(now, id).changes) === 1);
}

/** Ends a job: done, or failed with the reason. */
export function finishImportJob(db: Db, id: number, now: string, error?: string): void {
  transaction(db, () => stmt(db, IMPORT_SQL.finish).run(...finishValues(id, now, error)));
}

/**
 * An import job as one runner writes it: its id, and its `read` count as this runner last committed it (where it
 * resumed, then each batch's reads added). Each batch's progress commits only if the job's count is still that:
 * two runners of one job (on PostgreSQL, when the connection holding a runner's lock was ended under it and
 * another instance took the job) then never both commit a batch from one position, which would count its reads
 * twice and, at a resume, skip records never written; the one whose batch finds the count moved stops
 * (ImportJobTaken), its batch rolled back.
 */
export interface ImportJobRun {
  id: number;
  read: number;
}

/** A batch of an import job found the job's count moved by another runner: this runner stops, its batch undone. */
export class ImportJobTaken extends Error {
  constructor(readonly id: number) {
    super(`import job ${id} is being run by another runner`);
  }
}

/** The statements of `recordProgress`, run word for word by PostgreSQL's (pg_bulk.ts `pgRecordProgress`). */
export const PROGRESS_SQL = {
  reject: "INSERT INTO registry_import_rejects (import_id, seq, line, reason) VALUES (?, ?, ?, ?)",
  /** The counts, if the job's `read` is still the runner's; the rejected count after it. */
  counts: `UPDATE registry_imports SET read = read + ?, registered = registered + ?, updated = updated + ?,
       rejected_count = rejected_count + ? WHERE id = ? AND read = ? RETURNING rejected_count AS n`,
} as const;

/** The values of PROGRESS_SQL.counts for `batch` of `job`. */
export function progressValues(job: ImportJobRun, batch: ImportReport): number[] {
  return [batch.read, batch.registered, batch.updated, batch.rejectedCount, job.id, job.read];
}

/** The rejections of `batch` to keep after the `kept` a job has, as `[seq, rejection]`. */
export function rejectsToKeep(batch: ImportReport, kept: number): Array<[number, Rejection]> {
  return batch.rejected.slice(0, Math.max(0, MAX_REJECTIONS_KEPT - kept)).map((r, i) => [kept + i, r]);
}

/**
 * Adds one batch's counts and rejected rows to the job, if its count is still the runner's (ImportJobRun), and
 * moves the runner's count on. Called inside the batch's write transaction, so that the counts and the records
 * written move together: a crash loses both or neither.
 */
export function recordProgress(db: Db, job: ImportJobRun, batch: ImportReport): void {
  const after = stmt(db, PROGRESS_SQL.counts).get(...progressValues(job, batch)) as { n: number } | undefined;
  if (!after) throw new ImportJobTaken(job.id);
  job.read += batch.read;
  for (const [seq, r] of rejectsToKeep(batch, Number(after.n) - batch.rejectedCount)) {
    stmt(db, PROGRESS_SQL.reject).run(job.id, seq, r.line, r.reason);
  }
}
