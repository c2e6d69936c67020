/**
 * The admin routes of senders, sender keys and OAuth2 clients as OpenAPI route specs: the request schemas are the
 * validators and the response schemas are what the routes answer (tests check real answers against them).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { MAX_CODE, MAX_ID, MAX_JWK_JSON, MAX_NAME, MAX_SENDER_ID, MAX_URL } from "../dci/limits.ts";
import {
  CALLBACK_URL_MODES,
  LENIENCIES,
  MAX_SIGNATURE_WINDOW_SETTING_S,
  SIGNATURE_POLICIES,
} from "./settings.ts";
import { NO_STORE } from "../system/openapi_security.ts";

const url = z.string().max(MAX_URL).nullable().optional();
const limit = z.number().int().min(1).nullable().optional();
/** Outbound authentication as set (secrets write-only: answers show only that one is set). */
const OutboundAuth = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1).max(4096) }),
  z.strictObject({
    type: z.literal("oauth2"),
    token_url: z.string().max(MAX_URL),
    client_id: z.string().min(1).max(256),
    client_secret: z.string().min(1).max(1024),
    scope: z.string().max(1024).nullable().optional(),
  }),
]).openapi("OutboundAuthInput");
/** The settings of a sender a create or change may give (null resets a setting to the configured default). */
export const SenderFields = z.strictObject({
  name: z.string().min(1).max(MAX_NAME).optional(),
  callback_base_url: url,
  jwks_url: url,
  limit_minute: limit,
  limit_day: limit,
  auto_approve_subscriptions: z.boolean().optional(),
  signature_policy: z.enum(SIGNATURE_POLICIES).nullable().optional(),
  signature_max_window_seconds: z.number().int().min(1).max(MAX_SIGNATURE_WINDOW_SETTING_S).nullable()
    .optional(),
  test_mode: z.boolean().optional(),
  lenient: z.array(z.string().max(MAX_CODE)).max(16).optional(),
  callback_url_mode: z.enum(CALLBACK_URL_MODES).optional(),
  outbound_auth: OutboundAuth.optional(),
}).openapi("SenderChange");
const NewSender = SenderFields.extend({ sender_id: z.string().max(MAX_SENDER_ID) }).openapi("NewSender");
const NewKey = z.strictObject({
  key_id: z.string().max(MAX_ID),
  alg: z.string().max(MAX_CODE).optional(),
  pem: z.string().max(MAX_JWK_JSON).optional().openapi({ description: "SPKI public key (PEM)" }),
  jwk: z.record(z.string().max(MAX_CODE), z.unknown()).optional().openapi({ description: "Public JWK" }),
}).refine((k) => (k.pem === undefined) !== (k.jwk === undefined), "give exactly one of pem or jwk")
  .openapi("NewSenderKey", { description: "A sender's public key: exactly one of pem or jwk" });
const NewClient = z.strictObject({
  sender_id: z.string().max(MAX_SENDER_ID),
  scopes: z.array(z.string().max(MAX_CODE)).max(20).optional(),
  name: z.string().max(MAX_NAME).optional(),
}).openapi("NewClient");

const OutboundAuthView = z.discriminatedUnion("type", [
  z.object({ type: z.literal("none") }),
  z.object({ type: z.literal("bearer"), token_set: z.boolean() }),
  z.object({
    type: z.literal("oauth2"),
    token_url: z.string(),
    client_id: z.string(),
    scope: z.string().nullable(),
    client_secret_set: z.boolean(),
  }),
]).openapi("OutboundAuth");
const SenderShape = {
  sender_id: z.string(),
  name: z.string(),
  active: z.boolean(),
  callback_base_url: z.string().nullable(),
  jwks_url: z.string().nullable(),
  limit_minute: z.number().int(),
  limit_day: z.number().int(),
  auto_approve_subscriptions: z.boolean(),
  keys_version: z.number().int(),
  jwks_fetched_at: z.string().nullable(),
  jwks_fetch_status: z.string().nullable(),
  jwks_fetch_error: z.string().nullable(),
  created_at: z.string(),
  /** What the console's save sends back as `if_updated_at` (a change since is refused, not overwritten). */
  updated_at: z.string(),
  signature_policy: z.enum(SIGNATURE_POLICIES),
  signature_max_window_seconds: z.number().int(),
  test_mode: z.boolean(),
  lenient: z.array(z.enum(LENIENCIES)),
  callback_url_mode: z.enum(CALLBACK_URL_MODES),
  outbound_auth: OutboundAuthView,
  defaults: z.array(z.enum(["limit_minute", "limit_day", "signature_policy", "signature_max_window_seconds"]))
    .openapi({
      description:
        "The settings not set on this sender: they follow the server's default (their value here is " +
        "today's default); null in a PATCH leaves a setting to the default",
    }),
};
const Sender = z.object(SenderShape).openapi("Sender");
const SenderWork = z.object({
  subscriptions: z.number().int(),
  notifications: z.number().int(),
  transactions: z.number().int(),
}).openapi("SenderWork", { description: "What the sender has outstanding (held while it is disabled)" });
const SenderKey = z.object({
  sender_id: z.string(),
  key_id: z.string(),
  alg: z.string(),
  jwk: z.record(z.string(), z.unknown()),
  source: z.enum(["manual", "jwks"]),
  active: z.boolean(),
  created_at: z.string(),
}).openapi("SenderKey");
const Client = z.object({
  client_id: z.string(),
  sender_id: z.string(),
  name: z.string().nullable(),
  scopes: z.array(z.string()),
  active: z.boolean(),
  created_at: z.string(),
  secret_rotated_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
}).openapi("Client");
const ClientSecret = z.object({ client_id: z.string(), client_secret: z.string() }).openapi("ClientSecret", {
  description: "The client secret, shown this once (Cache-Control: no-store)",
});

const Id = z.object({ id: z.string().min(1).max(MAX_SENDER_ID).openapi({ example: "partner-a" }) });
const IdKey = Id.extend({ keyId: z.string().min(1).max(MAX_ID) });
const ClientId = z.object({ id: z.string().min(1).max(MAX_ID).openapi({ example: "dcic_AbCdEfGhIjKl" }) });
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
const noContent = { 204: { description: "Done" } };
const tags = ["senders"];

/** The route specs, by name. */
export const SENDER_ROUTES = {
  list: createRoute({
    method: "get",
    path: "/senders",
    tags,
    summary: "List senders by id, a page at a time",
    request: {
      query: z.object({
        search: z.string().max(100).optional().openapi({ description: "part of the id or name (any case)" }),
        state: z.enum(["active", "disabled"]).optional(),
        after: z.string().max(MAX_SENDER_ID).optional().openapi({ description: "keyset cursor: next_after" }),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
    },
    responses: {
      200: json(
        z.object({ senders: z.array(Sender), next_after: z.string().nullable() }),
        "A page of senders; next_after is null on the last",
      ),
    },
  }),
  create: createRoute({
    method: "post",
    path: "/senders",
    tags,
    summary: "Register a sender (partner) with its settings",
    request: body(NewSender),
    responses: { 201: json(Sender, "The sender") },
  }),
  show: createRoute({
    method: "get",
    path: "/senders/{id}",
    tags,
    summary: "One sender with its effective settings",
    request: { params: Id },
    responses: { 200: json(Sender, "The sender") },
  }),
  update: createRoute({
    method: "patch",
    path: "/senders/{id}",
    tags,
    summary: "Change a sender's settings (null resets one to the configured default)",
    request: { params: Id, ...body(SenderFields) },
    responses: { 200: json(Sender, "The sender after the change") },
  }),
  remove: createRoute({
    method: "delete",
    path: "/senders/{id}",
    tags,
    summary: "Delete a sender: its subscriptions, notifications and open transactions are cancelled for good",
    request: { params: Id },
    responses: noContent,
  }),
  disable: createRoute({
    method: "post",
    path: "/senders/{id}/disable",
    tags,
    summary: "Disable a sender: its requests and tokens are refused and deliveries to it held",
    request: { params: Id },
    responses: { 200: json(Sender.extend({ held: SenderWork }), "The sender and what is now held") },
  }),
  enable: createRoute({
    method: "post",
    path: "/senders/{id}/enable",
    tags,
    summary: "Enable a sender: held deliveries resume in order",
    request: { params: Id },
    responses: { 200: json(Sender.extend({ resumed: SenderWork }), "The sender and what resumes") },
  }),
  keys: createRoute({
    method: "get",
    path: "/senders/{id}/keys",
    tags,
    summary: "A sender's public keys",
    request: { params: Id },
    responses: { 200: json(z.object({ keys: z.array(SenderKey) }), "The keys") },
  }),
  addKey: createRoute({
    method: "post",
    path: "/senders/{id}/keys",
    tags,
    summary: "Add a public key (PEM or JWK) the sender signs with",
    request: { params: Id, ...body(NewKey) },
    responses: { 201: json(SenderKey, "The key") },
  }),
  removeKey: createRoute({
    method: "delete",
    path: "/senders/{id}/keys/{keyId}",
    tags,
    summary: "Remove a sender key",
    request: { params: IdKey },
    responses: noContent,
  }),
  fetchKeys: createRoute({
    method: "post",
    path: "/senders/{id}/keys/fetch",
    tags,
    summary: "Fetch the sender's JWKS from its jwks_url now (its old keys stay on failure)",
    request: { params: Id },
    responses: {
      200: json(
        z.object({
          ok: z.literal(true),
          keys: z.array(SenderKey),
          skipped: z.array(z.string()).optional().openapi({
            description: "JWKS members that are not usable signing keys, each `key #i (kid): reason`",
          }),
        }),
        "Fetched: the sender's keys now",
      ),
      502: json(
        z.object({ ok: z.literal(false), error: z.string(), keys: z.array(SenderKey) }),
        "The JWKS could not be fetched or read: the keys as before",
      ),
    },
  }),
  clients: createRoute({
    method: "get",
    path: "/clients",
    tags,
    summary: "List OAuth2 clients (of one sender with sender_id), oldest first, a page at a time",
    request: {
      query: z.object({
        sender_id: z.string().max(MAX_SENDER_ID).optional(),
        after: z.string().max(1000).optional().openapi({ description: "keyset cursor: next_after" }),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
    },
    responses: {
      200: json(
        z.object({ clients: z.array(Client), next_after: z.string().nullable() }),
        "A page of clients; next_after is null on the last",
      ),
    },
  }),
  createClient: createRoute({
    method: "post",
    path: "/clients",
    tags,
    summary: "Create an OAuth2 client for a sender; its secret is shown once",
    request: body(NewClient),
    responses: {
      201: {
        ...json(Client.extend({ client_secret: z.string() }), "The client and its secret"),
        headers: NO_STORE,
      },
    },
  }),
  revokeClient: createRoute({
    method: "post",
    path: "/clients/{id}/revoke",
    tags,
    summary: "Revoke a client: its tokens stop working at once",
    request: { params: ClientId },
    responses: { 200: json(Client, "The revoked client") },
  }),
  rotateSecret: createRoute({
    method: "post",
    path: "/clients/{id}/rotate-secret",
    tags,
    summary:
      "Replace a client's secret (shown once); tokens obtained with the old secret stop working at once",
    request: { params: ClientId },
    responses: { 200: { ...json(ClientSecret, "The new secret"), headers: NO_STORE } },
  }),
};
