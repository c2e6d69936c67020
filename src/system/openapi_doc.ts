/**
 * The OpenAPI 3.1 document at /dci_api/v1/openapi.json: every route's own spec (registry actions, token endpoint,
 * admin API, system routes), the security schemes, the callbacks each sender receives as top-level webhooks, and
 * an operationId on every operation (derived from method and path: a registry's routes are mounted at several
 * prefixes, so one route spec cannot name its operations).
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { ACTIONS } from "../dci/actions.ts";
import { NotifyEventRequest } from "../dci/notify.ts";
import { SubscribeRequestItem } from "../dci/messages.ts";
import { ExpPredicateWithCondition, PaginationRequest, SearchCriteria, SearchSort } from "../dci/search.ts";
import {
  answerCallbackHeaders,
  CALLBACK_ID_HEADERS,
  DELIVERY_RESPONSES,
  DELIVERY_SECURITY,
  json,
  pascal,
  signedAnswer,
} from "../actions/openapi.ts";
import { registerSecuritySchemes } from "./openapi_security.ts";
import { precompress, type Precompressed, sendPrecompressed } from "../http/precompressed.ts";

/** Where the document is served. */
export const OPENAPI_PATH = "/dci_api/v1/openapi.json";

/** The document's info and tags (what app.ts knows of the served registries). */
export interface DocumentHead {
  title: string;
  version: string;
  description: string;
  servers: { url: string; description?: string }[];
  tags: { name: string; description: string }[];
}

/** Tags of the routes that are not a registry's. */
const AREA_TAGS = [
  { name: "OAuth2", description: "Access tokens for senders (client credentials)" },
  { name: "Keys", description: "The server's public signature keys" },
  { name: "Locations", description: "The place hierarchy (locations.json)" },
  { name: "System", description: "Health, readiness and metrics" },
  { name: "Callbacks", description: "What this server POSTs to a sender (see webhooks)" },
  { name: "senders", description: "Admin: senders, their keys and OAuth2 clients" },
  { name: "registrants", description: "Admin: registry records and change events" },
  { name: "Admin", description: "Admin: transactions, subscriptions, notifications, locations" },
];

/** Registers the security schemes and webhooks, and serves the document (built at its first request). */
export function serveOpenApi(app: OpenAPIHono<AppEnv>, deps: Deps, head: DocumentHead): void {
  registerSecuritySchemes(app, deps.config);
  registerWebhooks(app);
  // Shown (by $ref) as the items of the loosely validated subscribe message, and as the parts of a search item's
  // criteria (each read item by item: a fault is its item's rjct code).
  app.openAPIRegistry.register("SubscribeRequestItem", SubscribeRequestItem);
  const searchParts = { SearchCriteria, SearchSort, PaginationRequest, ExpPredicateWithCondition };
  for (const [name, schema] of Object.entries(searchParts)) app.openAPIRegistry.register(name, schema);
  // Built, serialised and compressed at its first request (~0.5 MB, 37 KB gzipped), not at each.
  let doc: Promise<Precompressed> | undefined;
  app.get(OPENAPI_PATH, async (c) => {
    doc ??= precompress(completed(app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: head.title, version: head.version, description: head.description },
      servers: head.servers,
      tags: [...head.tags, ...AREA_TAGS],
    }) as unknown as Record<string, unknown>));
    return sendPrecompressed(c, await doc);
  });
}

/** The answer callbacks of the async actions and the notify callback, as top-level webhooks. */
function registerWebhooks(app: OpenAPIHono<AppEnv>): void {
  for (const spec of ACTIONS.filter((a) => a.mode === "async")) {
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: spec.callbackAction,
      tags: ["Callbacks"],
      summary: `${spec.callbackAction}: the answer of ${spec.family}, POSTed to the sender's callback URL`,
      description: CALLBACK_URL_TEXT(spec.callbackPath),
      request: {
        headers: idHeader(...answerCallbackHeaders(spec)),
        body: { content: json(signedAnswer(pascal(`${spec.family}-response`), spec.response)) },
      },
      responses: DELIVERY_RESPONSES,
      security: DELIVERY_SECURITY,
    });
  }
  app.openAPIRegistry.registerWebhook({
    method: "post",
    path: "notify",
    tags: ["Callbacks"],
    summary: "notify: one change event of an active subscription, POSTed to the subscriber",
    description: CALLBACK_URL_TEXT("/registry/notify"),
    request: {
      headers: idHeader(CALLBACK_ID_HEADERS.notify),
      body: { content: json(signedAnswer("Notify", NotifyEventRequest)) },
    },
    responses: DELIVERY_RESPONSES,
    security: DELIVERY_SECURITY,
  });
}

/** A callback's id header (CALLBACK_ID_HEADERS), and any other it carries, as the request headers of a webhook. */
function idHeader(...ids: Array<{ name: string; description: string }>) {
  return z.object(
    Object.fromEntries(
      ids.map((id) => [id.name, z.string().optional().openapi({ description: id.description })]),
    ),
  );
}

/** How a callback URL is made, for the webhook descriptions. */
export const CALLBACK_URL_TEXT = (path: string) =>
  `Sent to the sender's registered callback URL, else the request's header.sender_uri, with \`${path}\` ` +
  "appended (sender setting callback_url_mode append, the default; a base already ending in a callback path " +
  "keeps it) or as given (exact). Signed with the server's key (envelope signature; verify with its JWKS), " +
  "with the sender's outbound authentication (none, a bearer token or OAuth2 client credentials).";

/** The X-Request-ID every answer of the server carries (src/http/middleware.ts). */
const REQUEST_ID = {
  description:
    "The request's id: a well-formed X-Request-ID sent with the request, else a new UUID. The server's " +
    "log line of the request names it; quote it when reporting a problem",
  schema: { type: "string" },
};

/** A response header of text, as a component. */
const textHeader = (description: string) => ({ description, schema: { type: "string" } });

/** Response headers the server sets outside the routes' own schemas, by component name. */
const SHARED_HEADERS = {
  "X-Request-ID": REQUEST_ID,
  "WWW-Authenticate": textHeader(
    'The challenge of every 401: `Bearer realm="dci"` (with `error="invalid_token"` when the access token ' +
      'itself was refused, RFC 6750 §3.1); `Basic realm="dci"` on the token endpoint; on a registry ' +
      'operation\'s 403 for a token without its scope `Bearer realm="dci", error="insufficient_scope", scope="…"`',
  ),
  RateLimit: textHeader(
    "The sender's remaining quota in the window with the lower remaining count " +
      '(draft-ietf-httpapi-ratelimit-headers), e.g. `"minute";r=59;t=60`, or `"day";r=3;t=5400` near the end ' +
      "of the day's quota: on every answer to a request past its sender's rate limit, its 429 included",
  ),
  "RateLimit-Policy": textHeader('The sender\'s quotas, e.g. `"minute";q=60;w=60, "day";q=10000;w=86400`'),
};

/** The answers of a registry operation that carry the RateLimit headers: those after the rate limit's decision. */
const RATE_LIMITED = new Set(["200", "202", "400", "409", "429", "500", "503"]);

/**
 * The generated document with an operationId on every operation, its callbacks' and its webhooks', and the
 * headers the server sets outside the routes' own schemas: X-Request-ID on every answer, WWW-Authenticate on a
 * 401 (and a registry operation's 403), RateLimit and RateLimit-Policy on a registry operation's admitted answers.
 */
function completed(generated: Record<string, unknown>): Record<string, unknown> {
  // A copy: the routes mounted at several prefixes share their callback objects.
  const doc = JSON.parse(JSON.stringify(generated));
  doc.components = { ...doc.components, headers: { ...doc.components?.headers, ...SHARED_HEADERS } };
  const ref = (name: keyof typeof SHARED_HEADERS) => ({ [name]: { $ref: `#/components/headers/${name}` } });
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      op.operationId ??= operationId(method, path);
      const signed = (op.security ?? []).some((s) => "dciSignature" in s);
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        response.headers = {
          ...ref("X-Request-ID"),
          ...(status === "401" || (signed && status === "403") ? ref("WWW-Authenticate") : {}),
          ...(signed && RATE_LIMITED.has(status) ? { ...ref("RateLimit"), ...ref("RateLimit-Policy") } : {}),
          ...response.headers,
        };
      }
      for (const [name, callback] of Object.entries(op.callbacks ?? {})) {
        for (const cbItem of Object.values(callback)) {
          for (const cbOp of Object.values(cbItem)) cbOp.operationId ??= `${op.operationId}_${camel(name)}`;
        }
      }
    }
  }
  const webhooks = (doc.webhooks ?? {}) as Record<string, Record<string, Operation>>;
  for (const [name, item] of Object.entries(webhooks)) {
    for (const op of Object.values(item)) op.operationId ??= `webhook_${camel(name)}`;
  }
  return doc;
}

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses?: Record<string, { headers?: Record<string, unknown> }>;
  callbacks?: Record<string, Record<string, Record<string, Operation>>>;
}

/** `post /dci_api/v1/crvs/registry/sync/search` → `post_dciApiV1CrvsRegistrySyncSearch`. */
function operationId(method: string, path: string): string {
  return `${method}_${camel(path.replace(/[{}]/g, "").replace(/^\//, ""))}`;
}

function camel(s: string): string {
  const words = s.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => i === 0 ? w : w[0].toUpperCase() + w.slice(1)).join("");
}
