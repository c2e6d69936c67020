/**
 * Processors: what the worker runs for each async action. Each turns the stored request into the callback
 * message and its header status. The worker owns state, retries and callbacks; processors own the work.
 */
import type { Deps } from "../deps.ts";
import type { RequestHeader } from "../dci/schemas.ts";
import type { Registry } from "../dci/registry_router.ts";
import type { TxnAction } from "./states.ts";
import { txnStatusProcessor } from "./txn_status.ts";
import { runSearch } from "../registry/search_run.ts";
import { subscribeProcessor, unsubscribeProcessor } from "../subscriptions/processors.ts";
import { receiptProcessor } from "../subscriptions/receipts.ts";
import { getSender } from "../senders/store.ts";

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
}

/** What a processor returns: the callback message plus the callback header's status and counts. */
export interface ProcessResult {
  /** Header status: `succ` when the request was processed (items may still be rjct), `rjct` when refused whole. */
  status: "succ" | "rjct";
  /** Header-level reason (rjct.* code) when status is rjct. */
  reasonCode?: string;
  reasonMessage?: string;
  totalCount: number;
  completedCount: number;
  /** The callback message, e.g. `{transaction_id, correlation_id, search_response: [...]}`. */
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

/** Search: the registry search engine's message-level function (the same one the sync route uses). */
const searchProcessor: Processor = async (deps, input) => {
  const out = await runSearch(deps, input.senderId, {
    registry: input.registry,
    header: input.header,
    message: input.message,
    correlationId: input.correlationId,
    // Settings as they are when the search runs: an operator's change applies to work still queued.
    lenientTotalCount: getSender(deps, input.senderId)?.lenient.includes("total_count"),
  });
  return {
    status: out.status,
    reasonCode: out.statusReasonCode,
    reasonMessage: out.statusReasonMessage,
    totalCount: out.totalCount,
    completedCount: out.completedCount,
    message: out.message,
  };
};

/** The processor of each async action. */
export const PROCESSORS: Readonly<Record<TxnAction, Processor>> = {
  search: searchProcessor,
  subscribe: subscribeProcessor,
  unsubscribe: unsubscribeProcessor,
  "txn-status": txnStatusProcessor,
  receipt: receiptProcessor,
};
