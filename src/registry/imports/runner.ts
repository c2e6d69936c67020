/**
 * The import runner, on the worker side: runs queued import jobs one at a time from their spools, through
 * the CLI import's parsing (the parse worker) and batch writer (registry events included, so subscriptions are
 * notified). Batches are small so that the write lock is held briefly and the server keeps answering. Each
 * batch commits its progress with its records, so a job interrupted by a stop or a crash resumes after its last
 * committed batch when the worker starts again: nothing is written twice, and the counts stay exact.
 */
import type { Deps } from "../../deps.ts";
import { type PreparedBatch, withoutFirst } from "../prepared.ts";
import { ParseError, workerBatches } from "../parse_pool.ts";
import { wakeNotifier } from "../../subscriptions/notifier.ts";
import { servedRegistries } from "../../actions/registries.ts";
import { type ImportJob, ImportJobTaken } from "./store.ts";
import { faultLevel, isTransientStorageFault } from "../../db/faults.ts";

/** Records per transaction: a few ms of write lock each, so searches and other writes wait little. */
export const IMPORT_BATCH = 500;

/**
 * Waits after a batch met a write lock held too long by another process (a backup, `sqlite3`) or a full disk:
 * the job stays running and resumes after its last committed batch, and tries again after the last delay for
 * as long as the fault lasts (a failure could not be recorded while the lock is held or the disk full anyway).
 */
export const IMPORT_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 15_000, 30_000, 60_000];

/** Handle of the runner `startImportRunner` started. */
export interface ImportRunner {
  /** Looks for open jobs and runs them (at once when idle; after the current one otherwise). */
  wake(): void;
  /** Resolves when no job is running and none is waiting to be looked for or to try again (for tests). */
  idle(): Promise<void>;
  /** Stops after the current batch; the job stays running in the database and resumes at the next start. */
  stop(): Promise<void>;
}

/**
 * Starts the runner of this (the worker) process; it looks for open jobs at once (resuming interrupted ones).
 * `retryDelaysMs` replaces IMPORT_RETRY_DELAYS_MS (tests).
 */
export function startImportRunner(
  deps: Deps,
  options: { retryDelaysMs?: readonly number[] } = {},
): ImportRunner {
  const delays = options.retryDelaysMs ?? IMPORT_RETRY_DELAYS_MS;
  let again = false;
  let stopped = false;
  let loop: Promise<void> | undefined;
  /** The wait before a job that met a transient fault tries again; `over` resolves when it ends. */
  let retry: { timer: ReturnType<typeof setTimeout>; over: Promise<void>; end(): void } | undefined;
  /** Transient failures in a row of the job that met them (one job runs at a time). */
  const transient = { job: 0, tries: 0 };
  /** Passes in a row that failed before a job could run (the job list unreadable: the database down). */
  let faults = 0;
  /** Wakes the runner after `delay` ms; until then wake() does nothing. */
  const retryIn = (delay: number) => {
    const over = Promise.withResolvers<void>();
    const end = () => {
      clearTimeout(retry?.timer);
      retry = undefined;
      over.resolve();
    };
    retry = { timer: setTimeout(() => (end(), wake()), delay), over: over.promise, end };
  };
  // Never rejects: it runs as a background task, where an unhandled rejection would end the process.
  const run = async () => {
    try {
      await pass();
      faults = 0;
    } catch (err) {
      const delay = delays[Math.min(faults, delays.length - 1)];
      faults++;
      deps.log[faultLevel(err)](
        "import runner could not look for jobs; retrying",
        {
          retry_in_ms: delay,
          tries: faults,
          err,
        },
      );
      if (!stopped) retryIn(delay);
    }
  };
  const pass = async () => {
    do {
      again = false;
      for (const id of await deps.storage.importJobs.open()) {
        const tries = transient.job === id ? transient.tries : 0;
        // One runner at a time per job across instances (the lock dies with an instance that dies mid-job,
        // and the next runner to look resumes it); a job another instance is running is skipped here.
        const turn = await deps.storage.tryExclusive(
          `import-job:${id}`,
          () => runJob(deps, id, () => stopped),
        )
          .catch((err) => {
            // The lock or the job could not be read or ended (the database down): the job waits, as below.
            if (isTransientStorageFault(err)) {
              return { ran: true as const, value: { transient: String(err?.message ?? err) } };
            }
            deps.log.error("import job failed unexpectedly", { id, err });
            return undefined;
          });
        if (turn && !turn.ran) continue;
        const outcome = turn?.value;
        if (outcome?.transient) {
          // Every job writes to the same database: wait, then look again (this job first, by id).
          const delay = delays[Math.min(tries, delays.length - 1)];
          Object.assign(transient, { job: id, tries: tries + 1 });
          deps.log.warn("import paused: the database could not be written; retrying", {
            id,
            retry_in_ms: delay,
            tries: tries + 1,
            error: outcome.transient,
          });
          retryIn(delay);
          return;
        }
        if (transient.job === id) Object.assign(transient, { job: 0, tries: 0 });
        // Checked after a job: a stop asked as the runner starts still lets the batch in hand commit.
        if (stopped) return;
      }
    } while (again && !stopped);
  };
  const wake = () => {
    if (stopped || retry) return;
    if (loop) {
      again = true;
      return;
    }
    loop = run().finally(() => loop = undefined);
  };
  // Spools left by a crash go at start (and on the sweeper's interval); an open job's spool is never swept.
  const swept = sweepImportSpools(deps).catch((err) => deps.log.warn("spool clean-up failed", { err }));
  loop = swept.then(run).finally(() => loop = undefined);
  return {
    wake,
    idle: async () => {
      while (loop || retry) await (loop ?? retry?.over);
    },
    stop: async () => {
      stopped = true;
      retry?.end();
      await loop;
    },
  };
}

/** A spool of no open job is swept once it is this old: an upload still arriving is younger. */
export const IMPORT_SPOOL_GRACE_MS = 3_600_000;

/**
 * Removes the spools of no open import job older than IMPORT_SPOOL_GRACE_MS (an upload cut off by a crash, an
 * ended job's spool whose removal was lost); safe while other instances upload and run jobs. Returns how many.
 */
export async function sweepImportSpools(deps: Deps): Promise<number> {
  const removed = await deps.storage.importSpools.sweep(deps.clock.now() - IMPORT_SPOOL_GRACE_MS);
  if (removed > 0) deps.log.info("removed spool files without an import job", { count: removed });
  return removed;
}

/**
 * Runs (or resumes) one job to its end, or until `stopping()` says the process is stopping. A held lock or a
 * full disk leaves the job as it is and answers `{ transient: error }`.
 */
async function runJob(
  deps: Deps,
  id: number,
  stopping: () => boolean,
): Promise<{ transient?: string } | void> {
  const job = await deps.storage.importJobs.get(id);
  if (!job || (job.state !== "queued" && job.state !== "running")) return;
  const now = () => new Date(deps.clock.now()).toISOString();
  const served = servedRegistries(deps.config, deps.extensions?.registries).served;
  let readFault: unknown;
  if (!served.some((p) => p.name === job.registry)) {
    return end(deps, job, `the ${job.registry} registry is not served here`);
  }
  try {
    const spool = await deps.storage.importSpools.source(job.spoolFile);
    if (!spool) return end(deps, job, "the uploaded file is gone from the spool; upload it again");
    // A stream's read fault reaches the writer as the parse worker's message: its kind is kept here.
    const source = typeof spool === "string" ? spool : notingFaults(spool, (err) => readFault ??= err);
    // Ended by another runner since it was read (its spool going with it): nothing to do.
    if (!await deps.storage.importJobs.markRunning(id, now())) return;
    deps.log.info("import started", { id, registry: job.registry, resume_after: job.read });
    const batches = workerBatches(source, {
      format: job.format,
      batchSize: IMPORT_BATCH,
      registry: job.registry,
      now,
    });
    const committed = afterEachBatch(skipRecords(batches, job.read), () => {
      wakeNotifier(deps);
      return stopping();
    });
    await deps.storage.registryLoad.write(committed, {
      registry: job.registry,
      importJob: { id, read: job.read },
    });
  } catch (err) {
    // Another runner commits its batches (the lock this one held was lost with its connection): it goes on.
    if (err instanceof ImportJobTaken) {
      deps.log.warn("import job taken over by another runner; this one stops", {
        id,
        registry: job.registry,
      });
      return;
    }
    const message = (err as Error)?.message ?? String(err);
    const fault = !(err instanceof ParseError) && isTransientStorageFault(err);
    if (fault || isTransientStorageFault(readFault)) return { transient: message };
    return end(deps, job, message);
  }
  if (stopping()) return;
  await end(deps, job);
}

/**
 * Marks the job done (or failed with `error`) and removes its spool; a job another runner ended first keeps its end
 * (logged as it is).
 */
async function end(deps: Deps, job: ImportJob, error?: string): Promise<void> {
  await deps.storage.importJobs.finish(job.id, new Date(deps.clock.now()).toISOString(), error);
  await deps.storage.importSpools.remove(job.spoolFile);
  const done = (await deps.storage.importJobs.get(job.id))!;
  error = done.state === "failed" ? done.error ?? error : undefined;
  deps.log.info(error ? "import failed" : "import done", {
    id: job.id,
    registry: job.registry,
    read: done.read,
    registered: done.registered,
    updated: done.updated,
    rejected: done.rejectedCount,
    ...(error ? { reason: error } : {}),
  });
}

/** `stream` as it is, telling `note` the error a read of it fails with. */
function notingFaults(
  stream: ReadableStream<Uint8Array>,
  note: (err: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const r = await reader.read().catch((err) => {
        note(err);
        throw err;
      });
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/** The batches without their first `n` records (those a previous run of the job committed). */
async function* skipRecords(batches: AsyncIterable<PreparedBatch>, n: number): AsyncGenerator<PreparedBatch> {
  let skip = n;
  for await (const batch of batches) {
    if (skip >= batch.records.length) {
      skip -= batch.records.length;
      continue;
    }
    yield skip > 0 ? withoutFirst(batch, skip) : batch;
    skip = 0;
  }
}

/**
 * The batches, calling `after` once the writer has committed each whole batch (the generator resumes only
 * then); stops when it answers true (the process is stopping).
 */
async function* afterEachBatch(
  batches: AsyncIterable<PreparedBatch>,
  after: () => boolean,
): AsyncGenerator<PreparedBatch> {
  for await (const batch of batches) {
    yield batch;
    if (batch.last !== false && after()) return;
  }
}
