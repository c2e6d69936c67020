/**
 * The import jobs' rows behind one interface (Storage `importJobs`): the embedded SQLite implementation calls
 * store.ts's functions as they are; PostgreSQL's is pg_job_store.ts. A batch's progress is not here: it commits
 * in the batch's own transaction, through the load store (load_store.ts `importJob`).
 */
import type { Db } from "../../db/sqlite.ts";
import { deleteInChunks } from "../../db/purge.ts";
import type { Rejection } from "../batch.ts";
import {
  createImportJob,
  finishImportJob,
  getImportJob,
  IMPORT_SQL,
  type ImportJob,
  importRejects,
  listImportJobs,
  markImportRunning,
  type NewImportJob,
  openImportJobs,
} from "./store.ts";

/** The import jobs, on one backend. */
export interface ImportJobStore {
  /** Adds a queued job for a spooled file; resolves with its id. */
  create(job: NewImportJob, now: string): Promise<number>;
  /** One job (of `registry` when given), or undefined. */
  get(id: number, registry?: string): Promise<ImportJob | undefined>;
  /** A registry's jobs, newest first, paged by id (`before`: the last id of the previous page). */
  list(
    registry: string,
    options: { before?: number; limit: number },
  ): Promise<{ items: ImportJob[]; nextBefore: number | null }>;
  /** The rejected rows kept for a job, in file order. */
  rejects(id: number): Promise<Rejection[]>;
  /** The ids of jobs not finished (queued, or running when the process stopped), oldest first. */
  open(): Promise<number[]>;
  /**
   * Marks a job running (keeps its first start time when it is resumed); false when the job has ended meanwhile
   * (another runner finished it), which it leaves as it is.
   */
  markRunning(id: number, now: string): Promise<boolean>;
  /** Ends a job: done, or failed with the reason. */
  finish(id: number, now: string, error?: string): Promise<void>;
  /** Deletes finished jobs (done or failed) that ended before `cutoff`, with their rejected rows; how many. */
  purgeFinished(cutoff: string): Promise<number>;
}

/** The import jobs in the embedded SQLite database `db`. */
export function sqliteImportJobStore(db: Db): ImportJobStore {
  return {
    create: (job, now) => Promise.try(() => createImportJob(db, job, now)),
    get: (id, registry) => Promise.try(() => getImportJob(db, id, registry)),
    list: (registry, options) => Promise.try(() => listImportJobs(db, registry, options)),
    rejects: (id) => Promise.try(() => importRejects(db, id)),
    open: () => Promise.try(() => openImportJobs(db)),
    markRunning: (id, now) => Promise.try(() => markImportRunning(db, id, now)),
    finish: (id, now, error) => Promise.try(() => finishImportJob(db, id, now, error)),
    purgeFinished: (cutoff) => deleteInChunks(db, IMPORT_SQL.purge, [cutoff]),
  };
}
