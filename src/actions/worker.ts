/** The transaction worker with the action table's processors, each replaceable (tests, deployment hooks). */
import type { Deps } from "../deps.ts";
import type { Processor } from "../dci/processor.ts";
import type { TxnAction } from "../transactions/states.ts";
import { createTxnWorker, type TxnWorker, type WorkerOptions } from "../transactions/worker.ts";
import { PROCESSORS } from "./processors.ts";
import type { BulkLookup } from "../transactions/bulk_runner.ts";

/** A bulk search page: the registry's batched identifier lookup, under the search settings as they are now. */
const bulkLookup: BulkLookup = async (deps, registry, lookups) =>
  await deps.storage.search.lookupIdentifiers(
    {
      maxPageSize: deps.config.maxPageSize,
      maxResults: deps.config.searchMaxResults,
      now: deps.clock.now(),
    },
    registry,
    lookups,
  ) as unknown as Record<string, unknown>[];

/** Worker options with some processors replaced (the others are the table's). */
export type WorkerOverrides = Omit<WorkerOptions, "processors"> & {
  processors?: Partial<Record<TxnAction, Processor>>;
};

/** Creates this process's transaction worker; `options.processors` replace the table's for their actions. */
export function createWorker(deps: Deps, options: WorkerOverrides = {}): TxnWorker {
  return createTxnWorker(deps, {
    bulkLookup,
    ...options,
    // Only the processors given: `{ search: undefined }` (a deployment's switch left off) keeps the stock one.
    processors: {
      ...PROCESSORS,
      ...Object.fromEntries(
        Object.entries(options.processors ?? {}).filter(([, p]) => typeof p === "function"),
      ),
    },
  });
}
