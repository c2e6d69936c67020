/** Building DCI request envelopes `{header, message}` (sign them with signEnvelope). */

/** A DCI request header as the server reads it. */
export interface RequestHeader {
  version: string;
  message_id: string;
  message_ts: string;
  action: string;
  sender_id: string;
  sender_uri?: string;
  receiver_id?: string;
  total_count: number;
  is_msg_encrypted: boolean;
  meta?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A DCI envelope: `signature` is added by signing. */
export interface Envelope<H = RequestHeader, M = Record<string, unknown>> {
  signature?: string;
  header: H;
  message: M;
}

/** What buildEnvelope needs; the rest of the header has defaults. */
export interface EnvelopeOptions {
  senderId: string;
  /** `search`, `subscribe`, `unsubscribe`, `txn-status`, `receipt`, … */
  action: string;
  /** The server's sender id (its DCI_SENDER_ID, e.g. `dci-server`) as `header.receiver_id`; omitted when absent. */
  receiverId?: string;
  /** Where the server sends the answer of an async request. */
  senderUri?: string;
  /** The number of items in the message (search_request, …); counted from the message when absent. */
  totalCount?: number;
  /** A message id to reuse (a new UUID otherwise): each message_id is accepted once. */
  messageId?: string;
  /** The time of the header (now by default), in ms since the epoch. */
  nowMs?: number;
  meta?: Record<string, unknown>;
}

/** The request arrays whose length is a message's total_count (IBR's `sync/enrolled` sends a criteria list). */
const ITEM_ARRAYS = [
  "search_request",
  "subscribe_request",
  "unsubscribe_request",
  "txnstatus_request",
  "enrolled_criteria",
];

/** The number of items of `message` the server counts, or undefined for a message of one. */
function itemCount(message: Record<string, unknown>): number | undefined {
  const list = ITEM_ARRAYS.map((k) => message[k]).find(Array.isArray);
  if (list) return list.length;
  // IBR's `sync/enrollment/updates`: its beneficiaries.
  const updates = message.enrolled_updates ?? message.receipt_information;
  const beneficiaries = typeof updates === "object" && updates !== null
    ? (updates as Record<string, unknown>).beneficiaries
    : undefined;
  return Array.isArray(beneficiaries) ? beneficiaries.length : undefined;
}

/** Builds `{header, message}` with a new message_id and message_ts (ISO 8601, UTC). */
export function buildEnvelope(
  message: Record<string, unknown>,
  options: EnvelopeOptions,
): Envelope {
  const header: RequestHeader = {
    version: "1.0.0",
    message_id: options.messageId ?? crypto.randomUUID(),
    message_ts: new Date(options.nowMs ?? Date.now()).toISOString(),
    action: options.action,
    sender_id: options.senderId,
    ...(options.senderUri ? { sender_uri: options.senderUri } : {}),
    ...(options.receiverId ? { receiver_id: options.receiverId } : {}),
    total_count: options.totalCount ?? itemCount(message) ?? 1,
    is_msg_encrypted: false,
    ...(options.meta ? { meta: options.meta } : {}),
  };
  return { header, message };
}

/** One search_request item: an identifier search (`idtype-value`) or any query of `queryType`. */
export interface SearchItem {
  /**
   * The registry type (`ns:org:RegistryType:Social`, `…:Civil`, `…:FR`, `…:DR`, `…:IBR`); left out when absent
   * (optional in the spec: the registry of the path then answers).
   */
  regType?: string;
  queryType?: "idtype-value" | "expression" | "predicate";
  query: unknown;
  referenceId?: string;
  /** A page by number, or after the `next_cursor` of the page before (stable while records are added). */
  pagination?: { page_size: number; page_number?: number; cursor?: string };
  nowMs?: number;
}

/** The spec's registry types of the registries dci-server serves, by the name in their paths. */
export const REGISTRY_TYPES: Readonly<Record<string, string>> = {
  social: "ns:org:RegistryType:Social",
  crvs: "ns:org:RegistryType:Civil",
  fr: "ns:org:RegistryType:FR",
  dr: "ns:org:RegistryType:DR",
  ibr: "ns:org:RegistryType:IBR",
};

/** A search message with one request item per `items` entry and a new transaction_id. */
export function searchMessage(items: SearchItem[]): Record<string, unknown> {
  return {
    transaction_id: crypto.randomUUID(),
    search_request: items.map((item) => ({
      reference_id: item.referenceId ?? crypto.randomUUID(),
      timestamp: new Date(item.nowMs ?? Date.now()).toISOString(),
      search_criteria: {
        ...(item.regType ? { reg_type: item.regType } : {}),
        query_type: item.queryType ?? "idtype-value",
        query: item.query,
        ...(item.pagination ? { pagination: item.pagination } : {}),
      },
    })),
  };
}
