/**
 * One processing attempt of a transaction: the action's processor under a time budget, with its failures told
 * apart. A refusal (DciRejection) is an answer; a throw or an attempt over the budget is a failed attempt, which
 * the worker retries until the attempt limit and then answers `rjct` (recorded as `rjct.processing.failed`); a storage fault that
 * passes (the write lock held elsewhere, a full disk) is `transient`: retried without counting.
 */
import type { Deps } from "../deps.ts";
import type { RequestHeader } from "../dci/schemas.ts";
import type { Registry } from "../dci/registry_router.ts";
import { DciRejection } from "../dci/errors.ts";
import type { Processor, ProcessResult } from "../dci/processor.ts";
import type { TxnAction } from "./states.ts";
import type { TxnRow } from "./store.ts";
import { isTransientStorageFault } from "../db/faults.ts";
import { rejectedMessage } from "../dci/rejection.ts";
import { profileOf } from "../registries/index.ts";

/** The outcome of one attempt: a result to store, or why the attempt failed (for operators, never sent). */
export type AttemptOutcome =
  | { ok: true; result: ProcessResult }
  | {
    ok: false;
    error: string;
    overBudget: boolean;
    transient?: boolean;
    /** What was thrown, for the log (its stack; `error` alone is stored on the row). */
    cause?: unknown;
  };

const OVER_BUDGET = Symbol("over budget");

/**
 * Runs the processor of `row` once, giving up on it after `budgetMs` (the processor cannot be interrupted: a late
 * result is dropped, and processors are idempotent per correlation_id, so a retry finds what it did).
 */
export async function attemptProcessing(
  deps: Deps,
  row: TxnRow,
  options: { budgetMs: number; processors: Readonly<Record<TxnAction, Processor>> },
): Promise<AttemptOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const work = options.processors[row.action](deps, {
      registry: row.registry as Registry,
      senderId: row.sender_id,
      header: JSON.parse(row.request_header) as RequestHeader,
      message: JSON.parse(row.request_message) as Record<string, unknown>,
      transactionId: row.transaction_id,
      correlationId: row.correlation_id,
    });
    const over = new Promise<typeof OVER_BUDGET>((resolve) => {
      timer = setTimeout(() => resolve(OVER_BUDGET), options.budgetMs);
    });
    const result = await Promise.race([work, over]);
    if (result === OVER_BUDGET) {
      return { ok: false, error: `over its budget of ${options.budgetMs} ms`, overBudget: true };
    }
    return { ok: true, result };
  } catch (err) {
    if (err instanceof DciRejection) {
      return {
        ok: true,
        result: refused(row, new Date(deps.clock.now()).toISOString(), err.message, err.code),
      };
    }
    const e = err as Error | undefined;
    return {
      ok: false,
      error: `${e?.name ?? "Error"}: ${e?.message ?? String(err)}`,
      cause: err,
      overBudget: false,
      // The write lock held elsewhere past the wait, or a full disk: it passes; the attempt is not held against
      // the transaction.
      transient: isTransientStorageFault(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The answer of a transaction refused whole (`code`, stored on the row): the complete callback message of its
 * action, every request item rejected with `reason`.
 */
function refused(row: TxnRow, now: string, reason: string, code: string): ProcessResult {
  let request: unknown;
  try {
    request = JSON.parse(row.request_message);
  } catch { /* stored by accept as JSON; answered without items */ }
  const { message, items } = rejectedMessage(row.action, request, {
    txnTypes: profileOf(row.registry)?.txnTypes,
    correlationId: row.correlation_id,
    now,
    reason,
  });
  return {
    status: "rjct",
    reasonCode: code,
    reasonMessage: reason,
    totalCount: items,
    completedCount: items,
    message: { ...message, transaction_id: row.transaction_id },
  };
}

/**
 * The answer of a transaction whose processing finally failed, the cause not echoed: the row records
 * `rjct.processing.failed` for operators; the callback header has no such code (it is not a MsgHeaderStatusReasonCode),
 * so it carries status `rjct` and the message, and every request item is rejected.
 */
export function processingFailed(row: TxnRow, why: string, now: string): ProcessResult {
  return refused(row, now, `${why}; quote correlation_id ${row.correlation_id}`, "rjct.processing.failed");
}
