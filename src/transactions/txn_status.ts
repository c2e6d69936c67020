/**
 * Transaction status (sync `txn/status` answer and async `txn-on-status` callback): look up the calling
 * sender's own transactions on the registry asked by transaction_id, correlation_id or reference_id_list (which
 * also matches the header.message_id of the sender's request, as OpenSPP looks transactions up), or its own
 * subscriptions by subscription_code_list.
 */
import type { Deps } from "../deps.ts";
import type { ProcessResult } from "../dci/processor.ts";
import { TxnStatusMessage } from "../dci/messages.ts";
import { ACTIONS, asyncAction } from "../dci/actions.ts";
import type { StatusScope, TxnWithResult } from "./store.ts";
import { dciStatus } from "./states.ts";
import { isoNow } from "../clock.ts";
import {
  DEFAULT_TXN_TYPES,
  receiptInformationOf,
  rejectedMessage,
  type TxnType,
  txnTypeOf,
} from "../dci/rejection.ts";

/**
 * The status of a sender's subscriptions by code (subscription_code_list), in the shape of the subscribe answer;
 * undefined when none is the sender's. Given by the caller: subscriptions are not this area's to read.
 */
export type SubscriptionCodeLookup = (
  deps: Deps,
  scope: StatusScope,
  codes: string[],
  query: { transaction_id: string; correlation_id: string },
) => Promise<{ status: Record<string, unknown>; items: number } | undefined>;

/**
 * The most stored answer text one status answer merges (each matching transaction's result, or its request while
 * open): a query naming many large searches is refused rather than parsed, merged, signed and sent whole.
 */
const STATUS_ANSWER_MAX_CHARS = 8 * 1024 * 1024;

/** The answer item list of each async action family that has one (search_response, subscribe_response). */
const RESPONSE_LISTS: Readonly<Record<string, string | undefined>> = Object.fromEntries(
  ACTIONS.filter((a) => a.mode === "async").map((a) => [a.family, a.responseItems]),
);

/**
 * Answers a txn status query in `scope`; never sees another sender's transactions, another registry's, or those of
 * an earlier sender registered under the same id.
 */
export async function txnStatus(
  deps: Deps,
  scope: StatusScope,
  raw: unknown,
  ids: {
    transactionId: string;
    correlationId: string;
    byCodes: SubscriptionCodeLookup;
    /** The registry's spec's txn_type values (RegistryProfile.txnTypes). */
    txnTypes?: readonly TxnType[];
  },
): Promise<ProcessResult> {
  const { senderId } = scope;
  const types = ids.txnTypes ?? DEFAULT_TXN_TYPES;
  // Every refusal below answers in this registry's txn_type values too.
  ids = { ...ids, txnTypes: types };
  const parsed = TxnStatusMessage.safeParse(raw);
  const base = { transaction_id: ids.transactionId, correlation_id: ids.correlationId };
  if (!parsed.success) return unknown(deps, raw, ids, "txnstatus_request is malformed");
  const q = parsed.data.txnstatus_request;
  const value = q.attribute_value;
  const values = Array.isArray(value) ? value : [value];
  if (q.attribute_type === "subscription_code_list") {
    return byCodes(deps, scope, { q, codes: values, raw, ids });
  }
  const wanted = q.txn_type === undefined ? undefined : txnTypeOf(q.txn_type, types);
  if (q.txn_type !== undefined && wanted === undefined) {
    return unknown(
      deps,
      raw,
      ids,
      `txn_type ${JSON.stringify(q.txn_type)} is not one of ${scope.registry}'s: ${types.join(", ")}`,
    );
  }
  let rows: TxnWithResult[];
  // Rows found by the request's message_id name a whole transaction: all their items are shown.
  let whole = new Set<number>();
  const store = deps.storage.transactions;
  if (q.attribute_type === "transaction_id") rows = await store.findByTransactionId(scope, values[0]);
  else if (q.attribute_type === "correlation_id") {
    const row = await store.getByCorrelationId(values[0], senderId);
    rows =
      row && row.action !== "txn-status" && row.registry === scope.registry && row.created_at >= scope.since
        ? [row]
        : [];
  } else {
    const byMessage = await store.findByMessageIds(scope, values);
    whole = new Set(byMessage.map((r) => r.id));
    const byReference = await store.findByReferenceIds(scope, values);
    rows = [...byMessage, ...byReference.filter((r) => !whole.has(r.id))]
      .sort((a, b) => b.id - a.id);
  }
  const found = rows;
  rows = ofType(rows, wanted, types);
  if (rows.length === 0) return unknown(deps, raw, ids, notFound(scope, q, found, types));
  const size = rows.reduce((n, r) => n + (r.result ?? r.request_message).length, 0);
  if (size > STATUS_ANSWER_MAX_CHARS) {
    const reason =
      `The ${rows.length} transactions found hold ${Math.ceil(size / 1048576)} MiB of answers, ` +
      `more than the ${
        STATUS_ANSWER_MAX_CHARS / 1048576
      } MiB one status answer carries: ask for fewer at a time`;
    return unknown(deps, raw, ids, reason, "rjct.search.too_many_records_found");
  }
  const refs = q.attribute_type === "reference_id_list" || q.attribute_type === "reference_id"
    ? new Set(values)
    : undefined;
  const status = mergeStatus(rows, (row) => whole.has(row.id) ? undefined : refs);
  const items = listOf(status);
  return {
    status: "succ",
    totalCount: items?.length ?? 1,
    completedCount: items?.length ?? 1,
    message: {
      ...base,
      txnstatus_response: { txn_type: wanted ?? txnTypeOf(rows[0].action, types)!, txn_status: status },
    },
  };
}

/**
 * Why no transaction is shown: asked for no type and found only what this registry's types cannot name (a receipt
 * in crvs or fr), that; else not found.
 */
function notFound(
  scope: StatusScope,
  q: TxnStatusMessage["txnstatus_request"],
  found: TxnWithResult[],
  types: readonly TxnType[],
): string {
  const unnamed = q.txn_type === undefined
    ? found.find((r) => txnTypeOf(r.action, types) === undefined)
    : undefined;
  if (unnamed) {
    return `Transaction ${
      JSON.stringify(unnamed.transaction_id)
    } is a ${unnamed.action}, which has no txn_type in ` +
      `${scope.registry}'s spec (${types.join(", ")}): its status is not answered here`;
  }
  const value = q.attribute_value;
  return `No ${q.txn_type ?? ""} transaction of sender "${scope.senderId}" with ${q.attribute_type} ${
    JSON.stringify(Array.isArray(value) ? value.slice(0, 5) : value)
  }`.replace("No  ", "No ");
}

/**
 * The rows of txn_type `wanted` (any when undefined), as this registry's spec counts types: in social and ibr an
 * unsubscribe is a `subscribe`, in crvs and fr its own; a receipt has no txn_type in crvs and fr, so no row of
 * one is shown there (no answer of theirs could carry it).
 */
function ofType(
  rows: TxnWithResult[],
  wanted: TxnType | undefined,
  types: readonly TxnType[],
): TxnWithResult[] {
  return rows.filter((r) => {
    const t = txnTypeOf(r.action, types);
    return t !== undefined && (wanted === undefined || t === wanted);
  });
}

/** The status object of one transaction: its stored result, or its items with rcvd/pdng while open. */
export function statusOf(row: TxnWithResult, refs?: Set<string>): Record<string, unknown> {
  const spec = asyncAction(row.action);
  const listKey = spec.responseItems;
  if (row.result) {
    const result = JSON.parse(row.result) as Record<string, unknown>;
    if (listKey && refs && Array.isArray(result[listKey])) {
      result[listKey] = (result[listKey] as Array<{ reference_id?: string }>).filter((it) =>
        refs.has(String(it?.reference_id))
      );
    }
    return result;
  }
  const status = dciStatus(row.state, row.outcome);
  const base = { transaction_id: row.transaction_id, correlation_id: row.correlation_id };
  if (row.action === "receipt") {
    // The spec's receipt shape (transaction_id, receipt_information) with the on-receipt answer's receipt_response,
    // as the stored result will be: what the receipt named, and its status so far.
    return {
      ...base,
      receipt_information: receiptInformationOf(JSON.parse(row.request_message)),
      receipt_response: { status, timestamp: row.updated_at },
    };
  }
  if (!listKey) return { ...base, timestamp: row.updated_at, status };
  const request = JSON.parse(row.request_message) as Record<string, unknown>;
  if (request.bulk_file && listKey === "search_response") {
    // A bulk search by file: one item for the file (its answers go out page by page), with its progress, and
    // once it has ended, why it ended short: no callback says so (a spool gone, attempts run out, pages the
    // receiver never took).
    const progress = `bulk search file: ${row.completed_count ?? 0} of ${row.total_count ?? 0} ` +
      "lookups answered and delivered";
    // Its answers are in its pages, not here: pages still going out (an operator's retry too) are pdng, and pages
    // never delivered leave it rjct (nothing here gives the sender those answers), whatever its lookups' outcome.
    const going = row.state === "succeeded" || row.state === "rejected";
    const why = going
      ? ""
      : [row.status_reason_message, row.last_error && senderFacing(row.last_error)].filter((m) => m).join(
        "; ",
      );
    const item = {
      reference_id: row.transaction_id,
      timestamp: row.updated_at,
      status: row.state === "callback_failed" ? "rjct" : going ? "pdng" : status,
      status_reason_message: (why ? `${progress}; ${why}` : progress).slice(0, 999),
    };
    return { ...base, [listKey]: !refs || refs.has(row.transaction_id) ? [item] : [] };
  }
  const requested = (request[spec.requestItems ?? ""] ?? []) as Array<
    { reference_id?: string }
  >;
  const items = requested.filter((it) => !refs || refs.has(String(it?.reference_id))).map((it) => ({
    reference_id: String(it?.reference_id ?? ""),
    timestamp: row.updated_at,
    status,
  }));
  return { ...base, [listKey]: items };
}

/**
 * A bulk search's last_error as its sender reads it: which pages were not delivered, not why. Why is a
 * connection's error (refused, timed out, a TLS failure) to whatever host and port the sender named as its
 * callback URL, which would make the registry a port scanner answering in txn/status; operators see it whole.
 * The operator's remedy (`txn retry`) is told as what it is to the sender.
 */
function senderFacing(lastError: string): string {
  return lastError.replace(/(could not be delivered): [\s\S]*?(?=; stopped after |$)/, "$1")
    .replace("(txn retry resumes it)", "(the registry's operator can resume it)");
}

function mergeStatus(
  rows: TxnWithResult[],
  refsOf: (row: TxnWithResult) => Set<string> | undefined,
): Record<string, unknown> {
  const first = statusOf(rows[0], refsOf(rows[0]));
  const listKey = RESPONSE_LISTS[rows[0].action];
  if (rows.length === 1 || !listKey) return first;
  const items = [...(listOf(first) ?? [])];
  for (const row of rows.slice(1)) {
    if (row.action !== rows[0].action) continue;
    items.push(...(listOf(statusOf(row, refsOf(row))) ?? []));
  }
  return { ...first, [listKey]: items };
}

/** txn status by subscription_code_list: the sender's own subscriptions, answered as a SubscribeResponse. */
async function byCodes(
  deps: Deps,
  scope: StatusScope,
  query: {
    q: TxnStatusMessage["txnstatus_request"];
    codes: string[];
    raw: unknown;
    ids: { transactionId: string; correlationId: string; byCodes: SubscriptionCodeLookup };
  },
): Promise<ProcessResult> {
  const { q, codes, ids } = query;
  const base = { transaction_id: ids.transactionId, correlation_id: ids.correlationId };
  const wrongType = q.txn_type !== undefined && q.txn_type.toLowerCase() !== "subscribe";
  const found = wrongType ? undefined : await ids.byCodes(deps, scope, codes, base);
  if (!found) {
    return unknown(
      deps,
      query.raw,
      ids,
      wrongType
        ? `subscription_code_list looks up subscriptions: txn_type must be "subscribe", not ${
          JSON.stringify(q.txn_type)
        }`
        : `No subscription of sender "${scope.senderId}" with subscription_code_list ${
          JSON.stringify(codes.slice(0, 5))
        }`,
    );
  }
  return {
    status: "succ",
    totalCount: found.items,
    completedCount: found.items,
    message: { ...base, txnstatus_response: { txn_type: "subscribe", txn_status: found.status } },
  };
}

function listOf(status: Record<string, unknown>): unknown[] | undefined {
  for (const key of Object.values(RESPONSE_LISTS)) {
    if (key && Array.isArray(status[key])) return status[key] as unknown[];
  }
  return undefined;
}

/**
 * The answer when no transaction matches (or the query is malformed): header `rjct` without a code (no header-level
 * code means "not found"), and a txn_status in the spec's search-response shape whose one item is `rjct` with the
 * item-level `itemCode` (`rjct.reference_id.invalid`; `rjct.search.too_many_records_found` when the matches' answers
 * are too large to send in one).
 */
function unknown(
  deps: Deps,
  raw: unknown,
  ids: { transactionId: string; correlationId: string; txnTypes?: readonly TxnType[] },
  reason: string,
  itemCode = "rjct.reference_id.invalid",
): ProcessResult {
  const { message, items } = rejectedMessage("txn-status", raw, {
    correlationId: ids.correlationId,
    now: isoNow(deps.clock),
    reason,
    itemCode,
    txnTypes: ids.txnTypes,
  });
  return {
    status: "rjct",
    reasonMessage: reason,
    totalCount: items,
    completedCount: items,
    message: { ...message, transaction_id: ids.transactionId },
  };
}
