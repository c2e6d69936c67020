/**
 * Transaction status by `subscription_code_list` (the spec's fourth attribute type): the calling sender's own
 * subscriptions, answered in the shape of the SubscribeResponse that made them, one subscribe_response item per
 * code. Subscriptions an operator created have no subscribe transaction: they are answered the same way.
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { MAX_ID } from "../dci/limits.ts";
import type { SubscriptionRow } from "./store.ts";
import type { StatusScope } from "../transactions/store.ts";
import { subscriptionInfo } from "./processors.ts";

/** The txn_status of a subscription_code_list query and its item count; undefined when no code is the sender's. */
export async function subscriptionCodeStatus(
  deps: Deps,
  scope: StatusScope,
  codes: string[],
  query: { transaction_id: string; correlation_id: string },
): Promise<{ status: Record<string, unknown>; items: number } | undefined> {
  const unique = [...new Set(codes)];
  const { senderId } = scope;
  // Another sender's code is answered exactly as an unknown one: the answer must not tell which codes exist.
  // Another registry's, or an earlier sender's of the same id, is not this sender's on this registry either.
  const rows: Array<SubscriptionRow | undefined> = [];
  for (const code of unique) {
    const row = await deps.storage.subscriptions.get(code);
    const own = row?.sender_id === senderId && row.registry === scope.registry &&
      row.created_at >= scope.since;
    rows.push(own ? row : undefined);
  }
  const own = rows.filter((r): r is SubscriptionRow => r !== undefined);
  if (own.length === 0) return undefined;
  const now = isoNow(deps.clock);
  const items = unique.map((code, i) => {
    const row = rows[i];
    if (!row) {
      return {
        reference_id: code.slice(0, MAX_ID),
        timestamp: now,
        status: "rjct",
        status_reason_code: "rjct.reference_id.invalid",
        status_reason_message: `No subscription ${JSON.stringify(code)} of sender "${senderId}"`,
      };
    }
    return {
      reference_id: row.reference_id,
      timestamp: row.updated_at,
      status: row.state === "pending" ? "pdng" : "succ",
      subscriptions: [subscriptionInfo(row)],
    };
  });
  return {
    status: { ...await idsOf(deps, senderId, own, query), subscribe_response: items },
    items: items.length,
  };
}

/**
 * The subscribe transaction's ids when every subscription found came from the same one of this sender's
 * transactions; otherwise (several, or made by an operator) the status query's own ids.
 */
async function idsOf(
  deps: Deps,
  senderId: string,
  rows: SubscriptionRow[],
  query: { transaction_id: string; correlation_id: string },
): Promise<{ transaction_id: string; correlation_id: string }> {
  const correlation = rows[0].correlation_id;
  if (rows.some((r) => r.correlation_id !== correlation)) return query;
  const txn = await deps.storage.transactions.getByCorrelationId(correlation, senderId);
  return txn?.action === "subscribe"
    ? { transaction_id: txn.transaction_id, correlation_id: txn.correlation_id }
    : query;
}
