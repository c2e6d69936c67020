/**
 * A registry's own endpoints (`ProfileAction`: DR `sync/disabled`, IBR `sync/enrolled`, ...), mounted like the
 * sync standard actions: the auth chain (bearer and scope, sender, receiver_id, signature, rate limit, message_id
 * replay), the envelope validated with the action's request schema, version and header.action checked, then the
 * handler's answer signed as every sync answer is. A header-level rejection is the action's complete answer.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Json, ProfileAction, RegistryProfile, RejectedIds } from "../registries/profile.ts";
import { authenticate, type Scope } from "../auth/middleware.ts";
import { envelopeOf, type RequestHeader } from "../dci/schemas.ts";
import { type OutgoingHeader, signedEnvelope } from "../dci/envelope.ts";
import { checkHeaderAction, checkVersion } from "../dci/header_rules.ts";
import { isHeaderCode } from "../dci/rejection.ts";
import { MAX_ID } from "../dci/limits.ts";
import { answerMeta } from "../senders/settings.ts";
import { describeAction, ERROR_RESPONSES, json, named, signedAnswer } from "./openapi.ts";

type Envelope = { header: RequestHeader; message: Json };

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An id as an answer carries it: a string or number of at most 99 characters, else "". */
function idOf(v: unknown): string {
  return typeof v === "string" || (typeof v === "number" && Number.isFinite(v))
    ? String(v).slice(0, MAX_ID)
    : "";
}

/**
 * The default refusal of a registry action's request: its ids, and each `*_request` list answered as the
 * `*_response` list with every item rejected.
 */
export function genericRejected(request: unknown, ids: RejectedIds): { message: Json; items: number } {
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

function schemaName(profile: RegistryProfile, action: ProfileAction): string {
  const words = `${profile.name}/${action.path}`.split(/[-/_]/).filter(Boolean);
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/** Mounts one registry-specific endpoint on its registry's router. */
export function profileActionRoute(
  app: OpenAPIHono<AppEnv>,
  deps: Deps,
  profile: RegistryProfile,
  action: ProfileAction,
  tag: string,
): void {
  const name = schemaName(profile, action);
  const headerActions = { headerActions: [action.requestAction.toLowerCase()] };
  const route = createRoute({
    method: "post",
    path: action.path,
    tags: [tag],
    summary: action.summary,
    description:
      `header.action: ${action.requestAction}; answered with header.action ${action.responseAction}.`,
    middleware: [
      describeAction({
        name: `${profile.name}:${action.path}`,
        sync: true,
        callbackAction: action.responseAction,
        rejected: (request, ids) => (action.rejected ?? genericRejected)(request, ids),
      }),
      authenticate(deps, action.scope as Scope),
    ] as const,
    request: {
      body: {
        content: json(
          named(`${name}RequestEnvelope`, () => envelopeOf(action.request, `${name}RequestEnvelope`)),
        ),
        required: true,
      },
    },
    responses: {
      200: {
        description: `Signed ${action.responseAction} envelope`,
        content: json(signedAnswer(`${name}Response`, action.response)),
      },
      ...ERROR_RESPONSES,
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid("json") as Envelope;
    const senderId = c.var.auth?.senderId ?? String(body.header.sender_id);
    checkVersion(body.header.version);
    checkHeaderAction(headerActions, body.header.action);
    const correlationId = crypto.randomUUID();
    Object.assign(c.var.logFields, {
      sender_id: senderId,
      transaction_id: body.message.transaction_id,
      correlation_id: correlationId,
    });
    const r = await action.handle(deps, {
      registry: profile.name,
      senderId,
      header: body.header,
      message: body.message,
      correlationId,
      now: deps.clock.now(),
    });
    const envelope = signedEnvelope(deps, {
      action: action.responseAction as OutgoingHeader["action"],
      status: r.status,
      receiverId: senderId,
      totalCount: r.totalCount,
      completedCount: r.completedCount,
      statusReasonCode: isHeaderCode(r.reasonCode) ? r.reasonCode : undefined,
      statusReasonMessage: r.reasonMessage,
      meta: answerMeta(c.var.auth),
    }, r.message);
    return c.json(envelope, 200);
  });
}
