/** Admin API for senders, sender keys and OAuth2 clients (under /admin/v1, behind requireAdmin). */
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { addSender, getSender, listSenders, SenderError, updateSender } from "./store.ts";
import { deleteSender, disableSender, enableSender } from "./offboarding.ts";
import { addSenderKey, listSenderKeys, removeSenderKey } from "./keys.ts";
import { fetchSenderKeys } from "./jwks_fetch.ts";
import { createClient, listClients, revokeClient, rotateClientSecret } from "./clients.ts";
import { MAX_CODE, MAX_ID, MAX_JWK_JSON, MAX_NAME, MAX_SENDER_ID, MAX_URL } from "../dci/limits.ts";
import { CALLBACK_URL_MODES, MAX_SIGNATURE_WINDOW_SETTING_S, SIGNATURE_POLICIES } from "./settings.ts";

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
]);
const SenderFields = z.strictObject({
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
});
const NewSender = SenderFields.extend({ sender_id: z.string().max(MAX_SENDER_ID) });
const NewKey = z.strictObject({
  key_id: z.string().max(MAX_ID),
  alg: z.string().max(MAX_CODE).optional(),
  pem: z.string().max(MAX_JWK_JSON).optional(),
  jwk: z.record(z.string().max(MAX_CODE), z.unknown()).optional(),
}).refine((k) => (k.pem === undefined) !== (k.jwk === undefined), "give exactly one of pem or jwk");
const NewClient = z.strictObject({
  sender_id: z.string().max(MAX_SENDER_ID),
  scopes: z.array(z.string().max(MAX_CODE)).max(20).optional(),
  name: z.string().max(MAX_NAME).optional(),
});

async function body<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.output<T>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new DciError("err.request.bad", "Malformed JSON in request body");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DciError(
      "err.request.bad",
      `Invalid request: ${issue.path.join(".") || "(body)"}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/** Runs a store operation, mapping SenderError to 400 / 404 / 409. */
async function run<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof SenderError)) throw err;
    if (err.kind === "not_found") throw new DciError("err.request.not_found", err.message);
    throw new DciError("err.request.bad", err.message, err.kind === "conflict" ? { status: 409 } : {});
  }
}

function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new DciError("err.request.not_found", `${what} does not exist`);
  return value;
}

/** Adds /senders, /senders/{id}/keys and /clients to the admin router. */
export function senderAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.get("/senders", (c) => c.json({ senders: listSenders(deps) }));
  app.post("/senders", async (c) => {
    const { sender_id, ...input } = await body(c, NewSender);
    return c.json(await run(() => addSender(deps, sender_id, input)), 201);
  });
  app.get(
    "/senders/:id",
    (c) => c.json(found(getSender(deps, c.req.param("id")), `sender "${c.req.param("id")}"`)),
  );
  app.patch("/senders/:id", async (c) => {
    const input = await body(c, SenderFields);
    return c.json(await run(() => updateSender(deps, c.req.param("id"), input)));
  });
  // Delete cancels the sender's subscriptions, notifications and callbacks for good (counts in the log).
  app.delete("/senders/:id", async (c) => {
    await run(() => deleteSender(deps, c.req.param("id")));
    return c.body(null, 204);
  });
  // The sender as before, plus what is now held (disable) or resumes (enable).
  app.post("/senders/:id/disable", async (c) => {
    const { sender, held } = await run(() => disableSender(deps, c.req.param("id")));
    return c.json({ ...sender, held });
  });
  app.post("/senders/:id/enable", async (c) => {
    const { sender, resumed } = await run(() => enableSender(deps, c.req.param("id")));
    return c.json({ ...sender, resumed });
  });
  app.get("/senders/:id/keys", (c) => {
    found(getSender(deps, c.req.param("id")), `sender "${c.req.param("id")}"`);
    return c.json({ keys: listSenderKeys(deps, c.req.param("id")) });
  });
  app.post("/senders/:id/keys", async (c) => {
    const k = await body(c, NewKey);
    const material = k.pem ?? k.jwk!;
    return c.json(
      await run(() => addSenderKey(deps, c.req.param("id"), { keyId: k.key_id, material, alg: k.alg })),
      201,
    );
  });
  app.delete("/senders/:id/keys/:keyId", async (c) => {
    await run(() => removeSenderKey(deps, c.req.param("id"), c.req.param("keyId")));
    return c.body(null, 204);
  });
  app.post("/senders/:id/keys/fetch", async (c) => {
    const outcome = await run(() => fetchSenderKeys(deps, c.req.param("id")));
    return c.json({ ...outcome, keys: listSenderKeys(deps, c.req.param("id")) }, outcome.ok ? 200 : 502);
  });
  clientRoutes(app, deps);
}

function clientRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.get("/clients", (c) => c.json({ clients: listClients(deps, c.req.query("sender_id")) }));
  app.post("/clients", async (c) => {
    const input = await body(c, NewClient);
    const created = await run(() =>
      createClient(deps, input.sender_id, { scopes: input.scopes, name: input.name })
    );
    return c.json({ ...created.client, client_secret: created.clientSecret }, 201, {
      "Cache-Control": "no-store",
    });
  });
  app.post(
    "/clients/:id/revoke",
    async (c) => c.json(await run(() => revokeClient(deps, c.req.param("id")))),
  );
  app.post("/clients/:id/rotate-secret", async (c) => {
    const { clientSecret } = await run(() => rotateClientSecret(deps, c.req.param("id")));
    return c.json({ client_id: c.req.param("id"), client_secret: clientSecret }, 200, {
      "Cache-Control": "no-store",
    });
  });
}
