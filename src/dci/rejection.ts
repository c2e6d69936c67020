/**
 * A request refused whole, answered as the spec shapes each message: a complete response of the action's type
 * (transaction_id, correlation_id and one rejected item per request item), never an empty message. Used for
 * header-level rejections on sync endpoints and for async transactions refused or failed after the ACK.
 * Items carry no status_reason_code unless given one of their own enum: the codes of a whole-request refusal are
 * header-level codes (MsgHeaderStatusReasonCode), which the item enums do not allow; the reason is in
 * status_reason_message.
 */
import { HEADER_RJCT_CODES, type HeaderRjctCode } from "./errors.ts";
import { MAX_ID } from "./limits.ts";

/** The actions whose messages this builds. */
export type RejectedAction = "search" | "subscribe" | "unsubscribe" | "txn-status" | "receipt";

/** Every txn_type a registry's spec names (TxnStatusRequest/Response). */
export type TxnType = "search" | "subscribe" | "unsubscribe" | "receipt";

/**
 * The txn_type values of most registries' specs (social, ibr): an unsubscribe is part of the subscription family.
 * The crvs and fr specs name `unsubscribe` instead of `receipt` (RegistryProfile.txnTypes).
 */
export const DEFAULT_TXN_TYPES: readonly TxnType[] = ["search", "subscribe", "receipt"];

/**
 * The txn_type values every registry's spec names: what an answer may say when the caller did not tell which
 * registry's types apply, so that it is in each registry's enum.
 */
const COMMON_TXN_TYPES: readonly TxnType[] = ["search", "subscribe"];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An id as the answer carries it: a string or number as a string of at most 99 characters, else "". */
function idOf(v: unknown): string {
  return typeof v === "string" || (typeof v === "number" && Number.isFinite(v))
    ? String(v).slice(0, MAX_ID)
    : "";
}

/**
 * The txn_type of `types` (a registry's spec's) that counts a requested or stored one: itself when `types` names
 * it, `unsubscribe` → `subscribe` when it does not (social, ibr), else undefined (a receipt in crvs and fr, whose
 * specs have receipts but no txn_type for them; an unknown value).
 */
export function txnTypeOf(raw: unknown, types: readonly TxnType[]): TxnType | undefined {
  const t = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  if ((types as readonly string[]).includes(t)) return t as TxnType;
  if (t === "unsubscribe" && types.includes("subscribe")) return "subscribe";
  return undefined;
}

/**
 * The txn_type an answer carries for a requested or stored one: txnTypeOf in `types`, else `search`; never a value
 * outside `types`. Without `types`, only the values every registry's spec names (search, subscribe).
 */
export function specTxnType(raw: unknown, types: readonly TxnType[] = COMMON_TXN_TYPES): TxnType {
  return txnTypeOf(raw, types) ?? "search";
}

/** True for a code the callback header may carry (MsgHeaderStatusReasonCode). */
export function isHeaderCode(code: unknown): code is HeaderRjctCode {
  return (HEADER_RJCT_CODES as readonly unknown[]).includes(code);
}

/** The request's items of an action with an item list (search_request, subscribe_request), else []. */
function itemsOf(action: RejectedAction, request: Json): unknown[] {
  const key = action === "search"
    ? "search_request"
    : action === "subscribe"
    ? "subscribe_request"
    : undefined;
  return key && Array.isArray(request[key]) ? request[key] as unknown[] : [];
}

/** The ids a receipt request names (receipt_type, notification_id, subscription_code), as strings of ≤ 99. */
export function receiptInformationOf(req: Json): Json {
  const info = isObject(req.receipt_information) ? req.receipt_information : {};
  const receipt = isObject(req.receipt) ? req.receipt : {};
  const out: Json = {};
  const type = idOf(info.receipt_type);
  const notification = idOf(
    req.notification_id ?? receipt.notification_id ?? receipt.message_id ?? info.notification_id,
  );
  const code = idOf(info.subscription_code);
  if (type) out.receipt_type = type;
  if (notification) out.notification_id = notification;
  if (code) out.subscription_code = code;
  return out;
}

/** What varies: the ids of the answer, its timestamp and the reason given on each rejected item. */
export interface RejectedIds {
  correlationId: string;
  /** ISO 8601 now. */
  now: string;
  reason: string;
  /** An item-level code of the message's own item enum (e.g. rjct.reference_id.invalid), when items have one. */
  itemCode?: string;
  /** The registry's spec's txn_type values (RegistryProfile.txnTypes), for a txn-status answer. */
  txnTypes?: readonly TxnType[];
}

/**
 * The complete message answering `request` (the request's message, as received) refused whole, and the number
 * of items it answers (the header's total_count and completed_count).
 */
export function rejectedMessage(
  action: RejectedAction,
  request: unknown,
  ids: RejectedIds,
): { message: Json; items: number } {
  const req = isObject(request) ? request : {};
  const base = {
    transaction_id: idOf(req.transaction_id),
    correlation_id: ids.correlationId.slice(0, MAX_ID),
  };
  const reason = ids.reason.slice(0, 999);
  const item = (ref: unknown) => ({
    reference_id: idOf(ref),
    timestamp: ids.now,
    status: "rjct",
    ...(ids.itemCode ? { status_reason_code: ids.itemCode } : {}),
    status_reason_message: reason,
  });
  switch (action) {
    case "search":
    case "subscribe": {
      const items = itemsOf(action, req).map((it) => item(isObject(it) ? it.reference_id : undefined));
      return { message: { ...base, [`${action}_response`]: items }, items: items.length };
    }
    case "unsubscribe":
      return {
        message: { ...base, timestamp: ids.now, status: "rjct", status_reason_message: reason },
        items: Array.isArray(req.subscription_codes) ? req.subscription_codes.length : 1,
      };
    case "txn-status": {
      // The status of the one transaction asked for, in the spec's shape of its type, its one item rejected.
      const q = isObject(req.txnstatus_request) ? req.txnstatus_request : {};
      // subscription_code_list (OpenSPP) looks up subscriptions, whatever txn_type says.
      const txnType = q.attribute_type === "subscription_code_list"
        ? "subscribe"
        : specTxnType(q.txn_type, ids.txnTypes);
      return {
        message: {
          ...base,
          txnstatus_response: {
            txn_type: txnType,
            txn_status: txnStatusRejected(txnType, base, itemOfType(item(q.reference_id), txnType)),
          },
        },
        items: 1,
      };
    }
    case "receipt":
      return {
        message: {
          ...base,
          // What the receipt named, as every receipt answer carries it (the spec's ReceiptResponse).
          receipt_information: receiptInformationOf(req),
          receipt_response: { status: "rjct", status_reason_message: reason, timestamp: ids.now },
        },
        items: 1,
      };
  }
}

/**
 * A rejected status item for a transaction type's response list: a code of the search enum (a status answer too
 * large: rjct.search.too_many_records_found) is not in SubscribeStatusReasonCode, so a subscribe_response item
 * keeps the reason's message alone.
 */
function itemOfType(item: Json, type: TxnType): Json {
  if (type === "search" || !String(item.status_reason_code ?? "").startsWith("rjct.search.")) return item;
  const { status_reason_code: _, ...rest } = item;
  return rest;
}

/**
 * The txn_status of a refused status query in the spec's shape of its txn_type: an UnSubscribeResponse for
 * `unsubscribe` (crvs, fr: the query's one item becomes its status and reason), else the response list of the type.
 */
function txnStatusRejected(type: TxnType, base: Json, item: Json): Json {
  if (type === "unsubscribe") {
    return {
      ...base,
      timestamp: item.timestamp,
      status: "rjct",
      status_reason_message: item.status_reason_message,
    };
  }
  return { ...base, [type === "subscribe" ? "subscribe_response" : "search_response"]: [item] };
}

/**
 * The refusal of a request whose action has no builder of its own (a registry-specific endpoint): its ids, and each
 * `*_request` list of the request answered as the `*_response` list with every item rejected.
 */
export function genericRejectedMessage(
  request: unknown,
  ids: Omit<RejectedIds, "itemCode">,
): { message: Json; items: number } {
  const req = isObject(request) ? request : {};
  const message: Json = {
    transaction_id: idOf(req.transaction_id),
    correlation_id: ids.correlationId.slice(0, MAX_ID),
  };
  let items = 0;
  for (const [key, list] of Object.entries(req)) {
    if (!key.endsWith("_request") || !Array.isArray(list)) continue;
    const answered = list.map((it) => ({
      reference_id: idOf(isObject(it) ? it.reference_id : undefined),
      timestamp: ids.now,
      status: "rjct",
      status_reason_message: ids.reason.slice(0, 999),
    }));
    message[`${key.slice(0, -"_request".length)}_response`] = answered;
    items += answered.length;
  }
  return { message, items: Math.max(items, 1) };
}
