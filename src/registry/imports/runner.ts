/**
 * The import runner, on the worker side: runs queued import jobs one at a time from their spool files, through
 * the CLI import's parsing (the parse worker) and batch writer (registry events included, so subscriptions are
 * notified). Batches are small so that the write lock is held briefly and the server keeps answering. Each
 * batch commits its progress with its records, so a job interrupted by a stop or a crash resumes after its last
 * committed batch when the worker starts again: nothing is written twice, and the counts stay exact.
 */
import type { Deps } from "../../deps.ts";
import type { PreparedBatch } from "../prepared.ts";
import { workerBatches } from "../parse_pool.ts";
import { wakeNotifier } from "../../subscriptions/notifier.ts";
import { servedRegistries } from "../../actions/registries.ts";
import type { ImportJob } from "./store.ts";
import { pruneSpool, removeSpool, spoolPath } from "./spool.ts";
import { isTransientStorageFault } from "../../db/faults.ts";

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
  const run = async () => {
    do {
      again = false;
      for (const id of await deps.storage.importJobs.open()) {
        const tries = transient.job === id ? transient.tries : 0;
        const outcome = await runJob(deps, id, () => stopped).catch(
          (err) => {
            deps.log.error("import job failed unexpectedly", { id, err });
            return undefined;
          },
        );
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
          const over = Promise.withResolvers<void>();
          const end = () => {
            clearTimeout(retry?.timer);
            retry = undefined;
            over.resolve();
          };
          retry = { timer: setTimeout(() => (end(), wake()), delay), over: over.promise, end };
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
  // At start nothing is uploading yet: spool files without a job are left over from a crash.
  const pruned = deps.storage.importJobs.openSpoolFiles().then((open) => {
    const n = pruneSpool(deps.config, open);
    if (n > 0) deps.log.info("removed spool files without an import job", { count: n });
  }).catch((err) => deps.log.warn("spool clean-up failed", { err }));
  // Jobs run after the clean-up: it must not see a job's file go while it reads it.
  loop = pruned.then(run).finally(() => loop = undefined);
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
  const reason = !served.some((p) => p.name === job.registry)
    ? `the ${job.registry} registry is not served here`
    : await spoolMissing(deps, job);
  if (reason) return end(deps, job, reason);
  try {
    await deps.storage.importJobs.markRunning(id, now());
    deps.log.info("import started", { id, registry: job.registry, resume_after: job.read });
    const batches = workerBatches(spoolPath(deps.config, job.spoolFile), {
      format: job.format,
      batchSize: IMPORT_BATCH,
      registry: job.registry,
      now,
    });
    const committed = afterEachBatch(skipRecords(batches, job.read), () => {
      wakeNotifier(deps);
      return stopping();
    });
    await deps.storage.registryLoad.write(committed, { registry: job.registry, importJob: id });
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    if (isTransientStorageFault(err)) return { transient: message };
    return end(deps, job, message);
  }
  if (stopping()) return;
  await end(deps, job);
}

/** Why the job cannot read its file, or undefined when it can. */
async function spoolMissing(deps: Deps, job: ImportJob): Promise<string | undefined> {
  try {
    await Deno.stat(spoolPath(deps.config, job.spoolFile));
    return undefined;
  } catch {
    return "the uploaded file is gone from the spool directory; upload it again";
  }
}

/** Marks the job done (or failed with `error`) and removes its spool file. */
async function end(deps: Deps, job: ImportJob, error?: string): Promise<void> {
  await deps.storage.importJobs.finish(job.id, new Date(deps.clock.now()).toISOString(), error);
  await removeSpool(deps.config, job.spoolFile);
  const done = (await deps.storage.importJobs.get(job.id))!;
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

/**
 * The batches without their first `n` records (those a previous run of the job committed). A batch cut short
 * drops its sorted value rows: the writer sorts the rest itself.
 */
async function* skipRecords(batches: AsyncIterable<PreparedBatch>, n: number): AsyncGenerator<PreparedBatch> {
  let skip = n;
  for await (const batch of batches) {
    if (skip >= batch.records.length) {
      skip -= batch.records.length;
      continue;
    }
    yield skip > 0 ? { ...batch, records: batch.records.slice(skip), values: undefined } : batch;
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
