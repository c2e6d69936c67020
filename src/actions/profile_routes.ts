/**
 * A registry's own endpoints (`ProfileAction`: DR `sync/disabled`, IBR `sync/enrolled`, ...), mounted like the
 * sync standard actions: the auth chain (bearer and scope, sender, receiver_id, signature, rate limit, message_id
 * replay), the envelope validated with the action's request schema, version and header.action checked, then the
 * handler's answer signed as every sync answer is. A header-level rejection is the action's complete answer.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Json, ProfileAction, RegistryProfile } from "../registries/profile.ts";
import { authenticate, type Scope } from "../auth/middleware.ts";
import { envelopeOf, nullAsAbsent, RequestHeader } from "../dci/schemas.ts";
import { checkHeaderAction, checkVersion } from "../dci/header_rules.ts";
import { genericRejectedMessage } from "../dci/rejection.ts";
import { DciRejection } from "../dci/errors.ts";
import { answer, describeAction, json, named, signedAnswer, syncErrorResponses } from "./openapi.ts";
import { registrySecurity } from "../system/openapi_security.ts";

type Envelope = { header: RequestHeader; message: Json };

/**
 * A registry endpoint whose yaml request header is MsgCallbackHeader (IBR `sync/enrollment/updates`, header.action
 * notify), which requires only message_id, message_ts, action and status: its header.total_count may be left out,
 * and then is `itemCount` of the message; its header.sender_id too, and then is the token's sender (the auth chain
 * still checks the signature against that sender's keys).
 */
export interface CallbackHeaderAction extends ProfileAction {
  callbackHeader: { itemCount(message: Json): number };
}

/** The request header of a CallbackHeaderAction: the request header, total_count and sender_id optional. */
const CallbackRequestHeader = z.looseObject({
  // A new object of the same fields, not RequestHeader.extend(): that one would be documented as MsgHeader.
  ...RequestHeader.shape,
  // The request header's own rules (whatever they accept), made optional.
  total_count: RequestHeader.shape.total_count.optional(),
  // Null is absent, as the request header's optional fields read it (Pydantic dumps).
  sender_id: nullAsAbsent(RequestHeader.shape.sender_id.optional()),
}).openapi("MsgCallbackRequestHeader");

/** The request envelope of `action` (named `name`): its header is the callback one for a CallbackHeaderAction. */
function requestEnvelopeOf(action: ProfileAction, name: string): z.ZodType {
  const envelope = envelopeOf(action.request);
  return ("callbackHeader" in action ? envelope.extend({ header: CallbackRequestHeader }) : envelope)
    .openapi(name);
}

function schemaName(profile: RegistryProfile, action: ProfileAction): string {
  const words = `${profile.name}/${action.path}`.split(/[-/_]/).filter(Boolean);
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/**
 * Refuses (rjct.total_count.invalid, as sync/search does) a header.total_count other than the number of items the
 * action counts in the message, unless the sender's leniency allows it.
 */
function checkTotalCount(
  action: Pick<ProfileAction, "itemCount">,
  body: Envelope,
  lenient = false,
): void {
  if (!action.itemCount || lenient) return;
  const items = action.itemCount(body.message);
  if (Number(body.header.total_count) === items) return;
  throw new DciRejection(
    "rjct.total_count.invalid",
    `header.total_count ${body.header.total_count} is not the number of items of the request (${items})`,
  );
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
  const answerEnvelope = signedAnswer(`${name}Response`, action.response);
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
        writes: action.writes,
        callbackAction: action.responseAction,
        rejected: (request, ids) => (action.rejected ?? genericRejectedMessage)(request, ids),
      }),
      authenticate(deps, action.scope as Scope, { senderFromToken: "callbackHeader" in action }),
    ] as const,
    request: {
      body: {
        content: json(
          named(`${name}RequestEnvelope`, () => requestEnvelopeOf(action, `${name}RequestEnvelope`)),
        ),
        required: true,
      },
    },
    responses: {
      200: { description: `Signed ${action.responseAction} envelope`, content: json(answerEnvelope) },
      ...syncErrorResponses(answerEnvelope),
    },
    security: registrySecurity(action.scope),
  });
  // The answer is signed by hand (src/actions/openapi.ts): the route's response schema is its contract.
  app.openapi(
    route,
    (async (c: Context<AppEnv>) => {
      const body = (c.req.valid as (t: "json") => unknown)("json") as Envelope;
      if (body.header.total_count === undefined && "callbackHeader" in action) {
        body.header.total_count = (action as CallbackHeaderAction).callbackHeader.itemCount(body.message);
      }
      const senderId = c.get("auth")?.senderId ?? String(body.header.sender_id);
      checkVersion(body.header.version);
      checkHeaderAction(headerActions, body.header.action);
      // A callback header's total_count, when given, is checked against its count as a request header's is.
      const counted = "callbackHeader" in action ? (action as CallbackHeaderAction).callbackHeader : action;
      checkTotalCount(counted, body, c.get("auth")?.lenient?.includes("total_count"));
      const correlationId = crypto.randomUUID();
      Object.assign(c.get("logFields"), {
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
      if (action.writes) await settle(deps, c, senderId, body.header.message_id);
      return answer(deps, c, action.responseAction, r);
    }) as never,
  );
}

/**
 * A writing action's request answered: its message_id's copies are duplicates from now on. When that write fails
 * (the write lock held past the wait) the answer still goes out: the writes are done, and a copy would repeat
 * them to the same effect.
 */
async function settle(deps: Deps, c: Context<AppEnv>, senderId: string, messageId: unknown): Promise<void> {
  if (typeof messageId !== "string") return;
  try {
    await deps.storage.limits.settle(senderId, messageId);
  } catch (err) {
    c.get("log").warn("message_id not recorded as answered: a copy of the request would be applied again", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
