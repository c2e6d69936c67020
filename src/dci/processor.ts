/**
 * What runs a registry action: a processor turns a stored (async) or received (sync) request into the answer
 * message and its header status. The worker owns state, retries and callbacks; processors own the work. The
 * action table binds one processor to each action family (src/actions/processors.ts).
 */
import type { Deps } from "../deps.ts";
import type { RequestHeader } from "./schemas.ts";
import type { Registry } from "./registry_router.ts";

/** What a processor is given. */
export interface ProcessInput {
  registry: Registry;
  /** The authenticated sender whose transaction this is. */
  senderId: string;
  header: RequestHeader;
  /** The request message as received (validated loosely at accept). */
  message: Record<string, unknown>;
  transactionId: string;
  /** Our id for this transaction; stable across re-runs. Key any side effects by it (see below). */
  correlationId: string;
  /** The sender's named leniencies as the request was authenticated (sync); read at processing time if absent. */
  lenient?: readonly string[];
}

/** What a processor returns: the answer message plus the answer header's status and counts. */
export interface ProcessResult {
  /** Header status: `succ` when the request was processed (items may still be rjct), `rjct` when refused whole. */
  status: "succ" | "rjct";
  /** Header-level reason (rjct.* code) when status is rjct. */
  reasonCode?: string;
  reasonMessage?: string;
  totalCount: number;
  completedCount: number;
  /** The answer message, e.g. `{transaction_id, correlation_id, search_response: [...]}`. */
  message: Record<string, unknown>;
}

/**
 * A processor. Contract:
 * - It may run more than once for the same transaction (a crash after its side effects and before the worker
 *   stores the result): side effects must be idempotent, keyed by `input.correlationId` (e.g. a subscription
 *   row storing the correlation_id and reference_id, returning the existing one on a re-run).
 * - Per-item problems are items with `status: "rjct"` and `status_reason_code`; a whole-request refusal is
 *   `status: "rjct"` with `reasonCode`, or a thrown `DciRejection`. Any other throw, or a run over
 *   DCI_PROCESS_TIMEOUT_MS, is a failed attempt: retried up to DCI_PROCESS_ATTEMPTS, then `rjct` with
 *   `rjct.processing.failed` (the exception is kept in process_error and logged, never sent).
 */
export type Processor = (deps: Deps, input: ProcessInput) => Promise<ProcessResult>;
