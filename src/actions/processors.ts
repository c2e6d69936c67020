/**
 * The processor of each action family, bound to the action table (src/dci/actions.ts): the one module that knows
 * the search engine, transactions and subscriptions together, so those areas never import each other. A sync
 * action runs its family's processor in the request; an async one is run by the transaction worker.
 */
import type { Processor } from "../dci/processor.ts";
import type { ActionFamily } from "../dci/actions.ts";
import { runSearch } from "../registry/search_run.ts";
import { txnStatus } from "../transactions/txn_status.ts";
import { subscribeProcessor, unsubscribeProcessor } from "../subscriptions/processors.ts";
import { receiptProcessor } from "../subscriptions/receipts.ts";
import { subscriptionCodeStatus } from "../subscriptions/code_status.ts";
import { getSender, senderSince } from "../senders/store.ts";
import { profileOf } from "../registries/index.ts";

/** Search: the registry search engine's message-level function, sync and async alike. */
const searchProcessor: Processor = async (deps, input) => {
  // Settings as they are when the search runs: an operator's change applies to work still queued.
  const lenient = input.lenient ?? (await getSender(deps, input.senderId))?.lenient;
  const out = await runSearch(deps, input.senderId, {
    registry: input.registry,
    header: input.header,
    message: input.message,
    correlationId: input.correlationId,
    lenientTotalCount: lenient?.includes("total_count"),
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

/** Txn status: the caller's own transactions on the registry asked, or its subscriptions there by code. */
const txnStatusProcessor: Processor = async (deps, input) => {
  // A sender deleted while its status query waited sees nothing.
  const since = await senderSince(deps, input.senderId);
  return txnStatus(deps, { senderId: input.senderId, registry: input.registry, since }, input.message, {
    transactionId: input.transactionId,
    correlationId: input.correlationId,
    byCodes: subscriptionCodeStatus,
    txnTypes: profileOf(input.registry)?.txnTypes,
  });
};

/** The processor of each action family (sync and async). */
export const PROCESSORS: Readonly<Record<ActionFamily, Processor>> = {
  search: searchProcessor,
  subscribe: subscribeProcessor,
  unsubscribe: unsubscribeProcessor,
  "txn-status": txnStatusProcessor,
  receipt: receiptProcessor,
};
