/** The transaction worker with the action table's processors, each replaceable (tests, deployment hooks). */
import type { Deps } from "../deps.ts";
import type { Processor } from "../dci/processor.ts";
import type { TxnAction } from "../transactions/states.ts";
import { createTxnWorker, type TxnWorker, type WorkerOptions } from "../transactions/worker.ts";
import { PROCESSORS } from "./processors.ts";

/** Worker options with some processors replaced (the others are the table's). */
export type WorkerOverrides = Omit<WorkerOptions, "processors"> & {
  processors?: Partial<Record<TxnAction, Processor>>;
};

/** Creates this process's transaction worker; `options.processors` replace the table's for their actions. */
export function createWorker(deps: Deps, options: WorkerOverrides = {}): TxnWorker {
  return createTxnWorker(deps, { ...options, processors: { ...PROCESSORS, ...options.processors } });
}
