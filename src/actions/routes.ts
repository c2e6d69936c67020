/**
 * One registry's router, derived from the action table: every standard action its profile's spec defines
 * (src/dci/actions.ts) and the profile's own actions (src/actions/profile_routes.ts). Each route first tells the
 * error renderer its action, then runs the auth chain (bearer, sender, receiver_id, signature, rate limit, replay
 * guard), validates the envelope with the action's request schema, checks version and header.action, and answers:
 * sync actions with the signed answer of their processor, async ones with the ACK after accept.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Registry } from "../dci/registry_router.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { ACTIONS, type ActionSpec } from "../dci/actions.ts";
import { authenticate } from "../auth/middleware.ts";
import { validationHook } from "../http/errors.ts";
import { Ack, envelopeOf, type RequestHeader } from "../dci/schemas.ts";
import { checkHeaderAction, checkVersion } from "../dci/header_rules.ts";
import { type RejectedAction, rejectedMessage } from "../dci/rejection.ts";
import { DciError } from "../dci/errors.ts";
import { acceptTransaction } from "../transactions/accept.ts";
import { PROCESSORS } from "./processors.ts";
import { profileActionRoute } from "./profile_routes.ts";
import { bulkSearchUpload } from "./bulk_route.ts";
import { BULK_ERROR_RESPONSES, bulkUploadContent, registerBulkSchemas } from "./bulk_openapi.ts";
import {
  answer,
  asyncCallbacks,
  describeAction,
  ERROR_RESPONSES,
  json,
  named,
  pascal,
  signedAnswer,
  syncErrorResponses,
} from "./openapi.ts";
import { registrySecurity } from "../system/openapi_security.ts";

type Envelope = { header: RequestHeader; message: Record<string, unknown> & { transaction_id: string } };

/** The router of one registry: its standard actions and its own. */
export function registryRouter(deps: Deps, profile: RegistryProfile): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const tag = `${profile.name} registry`;
  for (const spec of ACTIONS) {
    // The spec's multipart/form-data body (FileInfo) on async search: a file of lookups instead of a list.
    if (profile.standardActions.includes(spec.family) && spec.family === "search" && spec.mode === "async") {
      app.use(spec.path, bulkSearchUpload(deps, profile.name as Registry));
    }
    if (profile.standardActions.includes(spec.family)) standardRoute(app, deps, profile, spec, tag);
    else notInSpec(app, profile, spec);
  }
  for (const action of profile.actions) profileActionRoute(app, deps, profile, action, tag);
  return app;
}

/** An action the registry's spec does not define: 404 with the ERR ACK saying so (not in the OpenAPI document). */
function notInSpec(app: OpenAPIHono<AppEnv>, profile: RegistryProfile, spec: ActionSpec): void {
  app.all(spec.path, () => {
    throw new DciError(
      "err.request.not_found",
      `The ${profile.name} registry's spec defines no ${spec.family}: POST ${spec.path} is not served`,
    );
  });
}

function standardRoute(
  app: OpenAPIHono<AppEnv>,
  deps: Deps,
  profile: RegistryProfile,
  spec: ActionSpec,
  tag: string,
): void {
  const registry = profile.name as Registry;
  // Async search also takes a file of lookups (bulk_route.ts, mounted in front of this route).
  const bulk = spec.family === "search" && spec.mode === "async";
  if (bulk) registerBulkSchemas(app);
  const requestEnvelope = named(
    `${pascal(spec.name)}RequestEnvelope`,
    () => envelopeOf(spec.request, `${pascal(spec.name)}RequestEnvelope`),
  );
  const answerEnvelope = signedAnswer(pascal(`${spec.family}-response`), spec.response);
  const ok: Record<number, { description: string; content: ReturnType<typeof json> }> = spec.mode === "sync"
    ? { 200: { description: `Signed ${spec.callbackAction} envelope`, content: json(answerEnvelope) } }
    : {
      202: { description: `ACK with our correlation_id; ${spec.callbackAction} follows`, content: json(Ack) },
    };
  const route = createRoute({
    method: "post",
    path: spec.path,
    tags: [tag],
    summary: spec.summary,
    description:
      `header.action: ${spec.headerActions[0]}; answered with header.action ${spec.callbackAction}` +
      (spec.mode === "async" ? ` POSTed to the callback URL (…${spec.callbackPath}).` : "."),
    middleware: [
      describeAction({
        name: spec.name,
        sync: spec.mode === "sync",
        callbackAction: spec.callbackAction,
        rejected: (request, ids) =>
          rejectedMessage(spec.family as RejectedAction, request, { ...ids, txnTypes: profile.txnTypes }),
      }),
      authenticate(deps, spec.scope),
    ] as const,
    request: {
      body: { content: { ...json(requestEnvelope), ...(bulk ? bulkUploadContent() : {}) }, required: true },
    },
    responses: {
      ...ok,
      ...(spec.mode === "sync" ? syncErrorResponses(answerEnvelope) : ERROR_RESPONSES),
      ...(bulk ? BULK_ERROR_RESPONSES : {}),
    },
    security: registrySecurity(spec.scope),
    ...(spec.mode === "async" ? { callbacks: asyncCallbacks(spec) } : {}),
  });
  // The responses differ by mode, so the handler is typed by hand: what it returns is the route's contract.
  const handler = async (c: Context<AppEnv>) => {
    const body = (c.req.valid as (t: "json") => unknown)("json") as Envelope;
    // c.get(), not c.var: Hono builds a new object of all the context's variables on each c.var read.
    const auth = c.get("auth");
    const logFields = c.get("logFields");
    const senderId = auth?.senderId ?? body.header.sender_id;
    Object.assign(logFields, { sender_id: senderId, transaction_id: body.message.transaction_id });
    if (spec.mode === "async") {
      const res = await acceptTransaction(deps, {
        registry,
        action: spec.family,
        senderId,
        header: body.header,
        message: body.message,
      });
      logFields.correlation_id = res.correlationId;
      return c.json(res.ack, 202);
    }
    checkVersion(body.header.version);
    checkHeaderAction(spec, body.header.action);
    const correlationId = crypto.randomUUID();
    logFields.correlation_id = correlationId;
    const started = performance.now();
    const r = await PROCESSORS[spec.family](deps, {
      registry,
      senderId,
      header: body.header,
      message: body.message,
      transactionId: body.message.transaction_id,
      correlationId,
      lenient: auth?.lenient ?? [],
    });
    if (spec.family === "search") {
      deps.metrics.observe(
        "dci_search_seconds",
        "Search message processing time (server side, without signing)",
        { registry },
        (performance.now() - started) / 1000,
      );
    }
    return answer(deps, c, spec.callbackAction, r);
  };
  app.openapi(route, handler as never);
}
