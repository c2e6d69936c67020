/** The fuzz case shape, the target's context, the registry endpoints and valid messages to start from. */
import type { TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import type { Rng } from "./prng.ts";

/** Input categories (issue 7 item 4) plus the other entry points. */
export const CATEGORIES = [
  "envelope",
  "query",
  "signature",
  "token",
  "header",
  "content_type",
  "size",
  "encoding",
  "endpoint",
  "oauth",
  "admin",
] as const;

/** One category. */
export type Category = typeof CATEGORIES[number];

/** What the oracle expects of a path: a registry endpoint, the token endpoint, the admin API or anything. */
export type Kind = "sync" | "async" | "token" | "admin" | "other";

/** One generated input. `raw` bodies are sent as bytes over a raw TCP connection (lying framing). */
export interface FuzzCase {
  index: number;
  category: Category;
  desc: string;
  method: string;
  path: string;
  kind: Kind;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body with chunked transfer encoding (a stream without Content-Length). */
  chunked?: boolean;
  /** A whole raw HTTP/1.1 request to write to the socket instead of using fetch. */
  raw?: Uint8Array;
  /** Deno's HTTP layer may refuse it before the app (too many or too large headers): a bare 4xx is fine. */
  httpLayer?: boolean;
  /** Whether the request carries our sender's valid token and a valid signature (for the figures). */
  authentic?: boolean;
}

/** Everything generators need to know about the running target. */
export interface FuzzContext {
  url: string;
  sender: FuzzSender;
  /** A second registered sender (its token with our envelopes is "another sender's token"). */
  other: FuzzSender;
  /** A sender whose client only has the registry.receipt scope. */
  narrow: FuzzSender;
  /** A token of our sender signed by the server key but already expired. */
  expiredToken: string;
  adminToken: string;
  bodyLimit: number;
}

/** A registered sender and the loopback callback receiver its async answers go to. */
export type FuzzSender = TestSender & { callbackUri: string };

/** Registry endpoint paths (relative to a mount) and whether they answer sync or async. */
export const ENDPOINTS: ReadonlyArray<{ path: string; kind: Kind }> = [
  { path: "sync/search", kind: "sync" },
  { path: "search", kind: "async" },
  { path: "subscribe", kind: "async" },
  { path: "unsubscribe", kind: "async" },
  { path: "txn/status", kind: "async" },
  { path: "sync/txn/status", kind: "sync" },
  { path: "receipt", kind: "async" },
  { path: "sync/receipt", kind: "sync" },
];

/** Registry mounts the fuzzer visits. */
export const MOUNTS = ["/registry", "/dci_api/v1/social/registry", "/dci_api/v1/crvs/registry"];

/** A valid criteria for the search endpoints. */
export function validCriteria(r: Rng): Record<string, unknown> {
  return r.chance(0.5)
    ? { query_type: "idtype-value", query: { type: "UIN", value: `FZ-${r.int(1000)}` } }
    : {
      query_type: "predicate",
      query: [{ expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" } }],
      pagination: { page_size: 5, page_number: 1 },
    };
}

/** A valid message for an endpoint path (`sync/search`, `subscribe`, ...). */
export function validMessage(r: Rng, endpoint: string, index: number): Record<string, unknown> {
  const transaction_id = `fz-txn-${index}`;
  const timestamp = new Date().toISOString();
  switch (endpoint) {
    case "search":
    case "sync/search":
      return {
        transaction_id,
        search_request: [{ reference_id: `ref-${index}`, timestamp, search_criteria: validCriteria(r) }],
      };
    case "subscribe":
      return {
        transaction_id,
        subscribe_request: [{
          reference_id: `ref-${index}`,
          timestamp,
          subscribe_criteria: { reg_event_type: "update", notify_record_type: "person" },
        }],
      };
    case "unsubscribe":
      return { transaction_id, timestamp, subscription_codes: [`code-${index}`] };
    case "txn/status":
    case "sync/txn/status":
      return {
        transaction_id,
        txnstatus_request: {
          attribute_type: "transaction_id",
          attribute_value: `fz-txn-${r.int(index + 1)}`,
        },
      };
    default:
      return { transaction_id, notification_id: `n-${index}` };
  }
}

/** A random registry endpoint on a random mount. */
export function pickEndpoint(r: Rng): { path: string; endpoint: string; kind: Kind } {
  const ep = r.pick(ENDPOINTS);
  return { path: `${r.pick(MOUNTS)}/${ep.path}`, endpoint: ep.path, kind: ep.kind };
}

/** A valid request envelope `{header, message}` (unsigned) of `sender` for an endpoint. */
export function validEnvelope(r: Rng, sender: FuzzSender, endpoint: string, index: number) {
  const action = endpoint.replace(/^sync\//, "").replace("txn/status", "txn-status");
  const message = validMessage(r, endpoint, index);
  const items = message.search_request ?? message.subscribe_request;
  return requestEnvelope(sender.senderId, message, {
    action,
    totalCount: Array.isArray(items) ? items.length : 0,
    header: { message_id: `fz-${index}-${Math.floor(r.next() * 1e9)}`, sender_uri: sender.callbackUri },
  });
}

/** Signs `envelope` as `sender` when it can (a header/message the canonicaliser refuses stays unsigned). */
export function trySign(sender: TestSender, envelope: { header: unknown; message: unknown }): string {
  try {
    return sender.signature(envelope);
  } catch {
    return "unsignable";
  }
}

/** JSON text of `{signature, header, message}` with the signature first (as clients send it). */
export function envelopeText(signature: unknown, header: unknown, message: unknown): string {
  return JSON.stringify({ signature, header, message });
}

/** Standard request headers: JSON body and the sender's bearer token. */
export function jsonHeaders(sender: FuzzSender): Record<string, string> {
  return { "content-type": "application/json", ...sender.headers() };
}
