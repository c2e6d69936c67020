/**
 * What every registry route shares: its action for the error renderer, its OpenAPI schemas and responses, and the
 * signing of a sync answer.
 */
import { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Context } from "hono";
import type { AppEnv, RouteAction } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { ProcessResult } from "../dci/processor.ts";
import type { ActionResult } from "../registries/profile.ts";
import type { ActionSpec } from "../dci/actions.ts";
import { optionalSecurity, RETRY_AFTER } from "../system/openapi_security.ts";
import { Ack, CallbackHeader } from "../dci/schemas.ts";
import { type OutgoingHeader, signedEnvelope } from "../dci/envelope.ts";
import { isHeaderCode } from "../dci/rejection.ts";
import { answerMeta } from "../senders/settings.ts";

/** The failures every registry route may answer (the ERR ACK; a sync route's header-level rejection is its answer). */
export const ERROR_RESPONSES = {
  400: { description: "ERR ACK (or, on a sync action, its signed rjct answer)", content: json(Ack) },
  401: { description: "ERR ACK: bearer token or signature", content: json(Ack) },
  403: { description: "ERR ACK: scope or sender", content: json(Ack) },
  409: {
    description: "Duplicate message_id (ERR ACK, or a sync action's signed rjct answer)",
    content: json(Ack),
  },
  413: { description: "ERR ACK: the body is larger than DCI_BODY_LIMIT", content: json(Ack) },
  415: { description: "ERR ACK: the body must be sent as application/json", content: json(Ack) },
  408: { description: "ERR ACK: the body stalled (DCI_BODY_IDLE_TIMEOUT_MS)", content: json(Ack) },
  429: { description: "ERR ACK: rate limit (Retry-After)", content: json(Ack), headers: RETRY_AFTER },
  500: {
    description: "ERR ACK: an internal error (its correlation_id is the X-Request-ID)",
    content: json(Ack),
  },
  503: {
    description:
      "ERR ACK err.service.unavailable with Retry-After: storage busy, full or unreachable, a registrant write " +
      "during a bulk load, or the server draining",
    content: json(Ack),
    headers: RETRY_AFTER,
  },
} as const;

/**
 * ERROR_RESPONSES of a sync action, whose header-level rejection (a bad version, action or total_count, a
 * message_ts out of its window, a message_id seen before: 400 or 409) is its own signed answer with status rjct,
 * not an ERR ACK: `answer` is that envelope's schema (signedAnswer).
 */
export function syncErrorResponses(answer: z.ZodType) {
  const either = json(z.union([Ack, answer]));
  return {
    ...ERROR_RESPONSES,
    400: {
      description: "The action's signed rjct answer (header-level rejection), or an ERR ACK",
      content: either,
    },
    409: {
      description: "Duplicate message_id: the action's signed rjct answer, or an ERR ACK",
      content: either,
    },
  };
}

/** `search-response` → `SearchResponse`: the names of an action's schemas in the OpenAPI document. */
export function pascal(name: string): string {
  return name.split(/[-/_]/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/**
 * The OpenAPI callbacks of an async action: its answer (the envelope its webhook shows), POSTed to the callback
 * URL; a subscribe's notifications too. The URL expression shows the header.sender_uri case (a callback URL
 * registered for the sender wins over it).
 */
export function asyncCallbacks(spec: ActionSpec): Record<string, unknown> {
  const answerName = `${pascal(`${spec.family}-response`)}Envelope`;
  const out: Record<string, unknown> = {
    [spec.callbackAction]: callback(
      spec.callbackPath,
      answerName,
      `The ${spec.callbackAction} answer`,
      ...answerCallbackHeaders(spec),
    ),
  };
  if (spec.family === "subscribe") {
    out.notify = callback(
      "/registry/notify",
      "NotifyEnvelope",
      "Each change event of the subscription",
      CALLBACK_ID_HEADERS.notify,
    );
  }
  return out;
}

/** The header naming what a callback carries: an answer's transaction, a notify's (first) notification. */
export const CALLBACK_ID_HEADERS = {
  answer: {
    name: "X-DCI-Transaction-ID",
    description: "The answered request's message.transaction_id (left out when it cannot travel in a header)",
  },
  notify: {
    name: "X-DCI-Notification-ID",
    description: "The notification id of the notify's first event (its reference_id; what a receipt names)",
  },
} as const;

/** The header of a bulk search's answer pages (src/transactions/bulk_runner.ts). */
const BULK_PAGE_HEADER = {
  name: "X-DCI-Page",
  description: "On a bulk search by file's on-search callbacks only: which page this is, `n/total`",
} as const;

/** The headers an async action's answer callback carries: its id header, and a search's bulk page header. */
export function answerCallbackHeaders(spec: ActionSpec): Array<{ name: string; description: string }> {
  return spec.family === "search"
    ? [CALLBACK_ID_HEADERS.answer, BULK_PAGE_HEADER]
    : [CALLBACK_ID_HEADERS.answer];
}

/** How a sender's receiver answers a callback or notification, and what the server does with the answer. */
export const DELIVERY_RESPONSES = {
  200: {
    description:
      "Delivered: any 2xx whose body is not an ERR ACK (an ACK is expected, an empty body is taken)",
    content: json(Ack),
  },
  "4XX": {
    description:
      "Not delivered: retried with backoff (DCI_CALLBACK_RETRY_DELAYS_MS), then failed; so is any " +
      "5xx, a timeout and a 2xx carrying an ERR ACK (that one is not retried unless its code is transient)",
  },
};

/** Who a callback comes from: the sender's outbound authentication, if any. */
export const DELIVERY_SECURITY = optionalSecurity("senderOutbound");

function callback(
  path: string,
  schema: string,
  summary: string,
  ...ids: Array<{ name: string; description: string }>
) {
  return {
    [`{$request.body#/header/sender_uri}${path}`]: {
      post: {
        summary,
        tags: ["Callbacks"],
        parameters: ids.map((id) => ({
          in: "header",
          name: id.name,
          required: false,
          description: id.description,
          schema: { type: "string" },
        })),
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } },
        },
        responses: {
          200: { description: DELIVERY_RESPONSES[200].description, content: ackRef() },
          "4XX": DELIVERY_RESPONSES["4XX"],
        },
        security: DELIVERY_SECURITY,
      },
    },
  };
}

function ackRef() {
  return { "application/json": { schema: { $ref: "#/components/schemas/Ack" } } };
}

/** `{ "application/json": { schema } }`. */
export function json<T extends z.ZodType>(schema: T) {
  return { "application/json": { schema } };
}

/** Sets the route's action for the error renderer; the first middleware of every registry route. */
export function describeAction(action: RouteAction): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("action", action);
    await next();
  };
}

const envelopes = new Map<string, z.ZodType>();

/** A schema built once and named once in the OpenAPI document, however many registries mount it. */
export function named(name: string, build: () => z.ZodType): z.ZodType {
  let schema = envelopes.get(name);
  if (!schema) envelopes.set(name, schema = build());
  return schema;
}

/** The signed answer envelope of an action (sync response and callback body). */
export function signedAnswer(name: string, message: z.ZodType): z.ZodType {
  return named(
    `${name}Envelope`,
    () => z.object({ signature: z.string(), header: CallbackHeader, message }).openapi(`${name}Envelope`),
  );
}

/** The 200 answer of a sync action: `r` signed with the server key, addressed to the authenticated sender. */
export function answer(
  deps: Deps,
  c: Context<AppEnv>,
  callbackAction: string,
  r: ProcessResult | ActionResult,
): Response {
  const auth = c.get("auth"); // not c.var, which copies every context variable into a new object
  const envelope = signedEnvelope(deps, {
    action: callbackAction as OutgoingHeader["action"],
    status: r.status,
    receiverId: auth?.senderId,
    totalCount: r.totalCount,
    completedCount: r.completedCount,
    // Only header-level codes go in the header; item-level ones stay in the message's items.
    statusReasonCode: isHeaderCode(r.reasonCode) ? r.reasonCode : undefined,
    statusReasonMessage: r.reasonMessage,
    meta: answerMeta(auth),
  }, r.message);
  return c.json(envelope, 200);
}
