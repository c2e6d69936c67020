/**
 * The registry actions, one declaration each: path, sync or async, scope, the header actions a request may carry,
 * the callback action and path of its answer, its request and response messages (zod: the contract of validation
 * and of the OpenAPI document), its item lists and the shape of a rejected item. Routes (src/actions/routes.ts),
 * accept, the worker's callbacks, txn status and error rendering all read this table; the processors that run
 * each action are bound to it in src/actions/processors.ts (the one place that knows transactions and
 * subscriptions both). Registry-specific endpoints are `ProfileAction`s of each registry's profile.
 */
import type { z } from "@hono/zod-openapi";
import type { Scope } from "../auth/middleware.ts";
import type { CALLBACK_ACTIONS } from "./schemas.ts";
import type { TxnAction } from "../transactions/states.ts";
import { SearchRequest, SearchResponse, SearchResponseItem } from "./search.ts";
import {
  AsyncSearchMessage,
  ReceiptMessage,
  SubscribeMessage,
  TxnStatusMessage,
  UnsubscribeMessage,
} from "./messages.ts";
import {
  ReceiptResponse,
  ReceiptResponseItem,
  SubscribeResponse,
  SubscribeResponseItem,
  TxnStatusResponse,
  UnSubscribeResponse,
} from "./responses.ts";

/** The name of a standard registry action. */
export type ActionName =
  | "sync-search"
  | "search"
  | "subscribe"
  | "unsubscribe"
  | "sync-txn-status"
  | "txn-status"
  | "sync-receipt"
  | "receipt";

/** A callback (answer) action. */
export type CallbackAction = typeof CALLBACK_ACTIONS[number];

/** The family a registry profile enables an action by (`RegistryProfile.standardActions`). */
export type ActionFamily = "search" | "subscribe" | "unsubscribe" | "txn-status" | "receipt";

/** One standard registry action. */
export interface ActionSpec {
  name: ActionName;
  /** Path under `…/registry`. */
  path: string;
  /** Sync: the signed answer in the HTTP response. Async: HTTP 202 ACK, the answer POSTed to the callback URL. */
  mode: "sync" | "async";
  /** The family a profile's `standardActions` names; also the transaction action of an async one. */
  family: ActionFamily;
  /** OAuth2 scope the bearer token needs. */
  scope: Scope;
  /** `header.action` values accepted (compared case-insensitively); the first is the spec's. */
  headerActions: readonly string[];
  /** The answer's `header.action`. */
  callbackAction: CallbackAction;
  /** The path appended to a callback base for the answer (async) and the spec's callback endpoint. */
  callbackPath: string;
  /** The request `message` (validated loosely: a bad item is answered per item, not refused). */
  request: z.ZodType;
  /** The answer `message` (sent strictly). */
  response: z.ZodType;
  /** The request's item list (each item has a reference_id), when the message has one. */
  requestItems?: string;
  /** The answer's item list, answering `requestItems` one for one. */
  responseItems?: string;
  /** The shape of one answer item, rejected items included (item-level codes come from its enum only). */
  itemShape?: z.ZodType;
  /** Summary for the OpenAPI document. */
  summary: string;
}

const SEARCH: ActionSpec = {
  name: "search",
  path: "/search",
  mode: "async",
  family: "search",
  scope: "registry.search",
  headerActions: ["search"],
  callbackAction: "on-search",
  callbackPath: "/registry/on-search",
  request: AsyncSearchMessage,
  response: SearchResponse,
  requestItems: "search_request",
  responseItems: "search_response",
  itemShape: SearchResponseItem,
  summary: "Search the registry: ACK now, on-search POSTed to the callback URL",
};

const TXN_STATUS: ActionSpec = {
  name: "txn-status",
  path: "/txn/status",
  mode: "async",
  family: "txn-status",
  scope: "registry.txn-status",
  headerActions: ["txn-status", "txn/status", "txn_status", "txnstatus"],
  callbackAction: "txn-on-status",
  callbackPath: "/registry/txn/on-status",
  request: TxnStatusMessage,
  response: TxnStatusResponse,
  summary: "Status of the caller's own transactions: ACK now, txn-on-status POSTed to the callback URL",
};

const RECEIPT: ActionSpec = {
  name: "receipt",
  path: "/receipt",
  mode: "async",
  family: "receipt",
  scope: "registry.receipt",
  headerActions: ["receipt"],
  callbackAction: "on-receipt",
  callbackPath: "/registry/on-receipt",
  request: ReceiptMessage,
  response: ReceiptResponse,
  itemShape: ReceiptResponseItem,
  summary: "Mark one of the caller's notifications received: ACK now, on-receipt POSTed to the callback URL",
};

/** Every standard action, in the order the OpenAPI document lists them; a sync one is its async one answered now. */
export const ACTIONS: readonly ActionSpec[] = [
  SEARCH,
  {
    ...SEARCH,
    name: "sync-search",
    path: "/sync/search",
    mode: "sync",
    request: SearchRequest,
    summary: "Search the registry synchronously: idtype-value, predicate and expression queries",
  },
  {
    name: "subscribe",
    path: "/subscribe",
    mode: "async",
    family: "subscribe",
    scope: "registry.subscribe",
    headerActions: ["subscribe"],
    callbackAction: "on-subscribe",
    callbackPath: "/registry/on-subscribe",
    request: SubscribeMessage,
    response: SubscribeResponse,
    requestItems: "subscribe_request",
    responseItems: "subscribe_response",
    itemShape: SubscribeResponseItem,
    summary: "Subscribe to registry events: ACK now, on-subscribe POSTed to the callback URL",
  },
  {
    name: "unsubscribe",
    path: "/unsubscribe",
    mode: "async",
    family: "unsubscribe",
    scope: "registry.subscribe",
    headerActions: ["unsubscribe"],
    callbackAction: "on-unsubscribe",
    callbackPath: "/registry/on-unsubscribe",
    request: UnsubscribeMessage,
    response: UnSubscribeResponse,
    summary: "End subscriptions by code: ACK now, on-unsubscribe POSTed to the callback URL",
  },
  TXN_STATUS,
  {
    ...TXN_STATUS,
    name: "sync-txn-status",
    path: "/sync/txn/status",
    mode: "sync",
    summary: "Status of the caller's own transactions by transaction_id, correlation_id or reference_id_list",
  },
  RECEIPT,
  {
    ...RECEIPT,
    name: "sync-receipt",
    path: "/sync/receipt",
    mode: "sync",
    summary: "Mark one of the caller's notifications received; answered with a signed on-receipt",
  },
];

/** The async action a transaction row runs (its `action` column is the family). */
export function asyncAction(action: TxnAction): ActionSpec {
  const spec = ACTIONS.find((a) => a.mode === "async" && a.family === action);
  if (!spec) throw new Error(`no async action ${action}`);
  return spec;
}

/** The action named `name`. */
export function actionNamed(name: ActionName): ActionSpec {
  return ACTIONS.find((a) => a.name === name)!;
}
