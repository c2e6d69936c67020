/** Admin API for senders, sender keys and OAuth2 clients (under /admin/v1, behind requireAdmin). */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { addSender, getSender, SenderError, updateSender } from "./store.ts";
import { pageSenders } from "./listing.ts";
import { deleteSender, disableSender, enableSender } from "./offboarding.ts";
import { addSenderKey, listSenderKeys, removeSenderKey } from "./keys.ts";
import { fetchSenderKeys } from "./jwks_fetch.ts";
import { createClient, pageClients, revokeClient, rotateClientSecret } from "./clients.ts";
import { SENDER_ROUTES } from "./admin_openapi.ts";

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
  const r = SENDER_ROUTES;
  app.openapi(r.list, async (c) => {
    const q = c.req.valid("query");
    const page = await pageSenders(deps, {
      search: q.search || undefined,
      state: q.state,
      after: q.after,
      limit: q.limit,
    });
    return c.json({ senders: page.senders, next_after: page.next ?? null }, 200);
  });
  app.openapi(r.create, async (c) => {
    const { sender_id, ...input } = c.req.valid("json");
    return c.json(await run(() => addSender(deps, sender_id, input)), 201);
  });
  app.openapi(r.show, async (c) => {
    const id = c.req.valid("param").id;
    return c.json(found(await getSender(deps, id), `sender "${id}"`), 200);
  });
  app.openapi(r.update, async (c) => {
    const input = c.req.valid("json");
    return c.json(await run(() => updateSender(deps, c.req.valid("param").id, input)), 200);
  });
  // Delete cancels the sender's subscriptions, notifications and callbacks for good (counts in the log).
  app.openapi(r.remove, async (c) => {
    await run(() => deleteSender(deps, c.req.valid("param").id));
    return c.body(null, 204);
  });
  // The sender as before, plus what is now held (disable) or resumes (enable).
  app.openapi(r.disable, async (c) => {
    const { sender, held } = await run(() => disableSender(deps, c.req.valid("param").id));
    return c.json({ ...sender, held }, 200);
  });
  app.openapi(r.enable, async (c) => {
    const { sender, resumed } = await run(() => enableSender(deps, c.req.valid("param").id));
    return c.json({ ...sender, resumed }, 200);
  });
  app.openapi(r.keys, async (c) => {
    const id = c.req.valid("param").id;
    found(await getSender(deps, id), `sender "${id}"`);
    return c.json({ keys: await listSenderKeys(deps, id) }, 200);
  });
  app.openapi(r.addKey, async (c) => {
    const k = c.req.valid("json");
    const material = k.pem ?? k.jwk!;
    const key = await run(() =>
      addSenderKey(deps, c.req.valid("param").id, { keyId: k.key_id, material, alg: k.alg })
    );
    return c.json(key, 201);
  });
  app.openapi(r.removeKey, async (c) => {
    const p = c.req.valid("param");
    await run(() => removeSenderKey(deps, p.id, p.keyId));
    return c.body(null, 204);
  });
  app.openapi(r.fetchKeys, async (c) => {
    const id = c.req.valid("param").id;
    const outcome = await run(() => fetchSenderKeys(deps, id));
    const keys = await listSenderKeys(deps, id);
    return outcome.ok
      ? c.json({ ok: true as const, keys, ...(outcome.skipped ? { skipped: outcome.skipped } : {}) }, 200)
      : c.json({ ...outcome, keys }, 502);
  });
  clientRoutes(app, deps);
}

function clientRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  const r = SENDER_ROUTES;
  app.openapi(
    r.clients,
    async (c) => {
      const q = c.req.valid("query");
      const page = await run(() =>
        pageClients(deps, { senderId: q.sender_id, after: q.after, limit: q.limit })
      );
      return c.json({ clients: page.clients, next_after: page.next ?? null }, 200);
    },
  );
  app.openapi(r.createClient, async (c) => {
    const input = c.req.valid("json");
    const created = await run(() =>
      createClient(deps, input.sender_id, { scopes: input.scopes, name: input.name })
    );
    return c.json({ ...created.client, client_secret: created.clientSecret }, 201, {
      "Cache-Control": "no-store",
    });
  });
  app.openapi(
    r.revokeClient,
    async (c) => c.json(await run(() => revokeClient(deps, c.req.valid("param").id)), 200),
  );
  app.openapi(r.rotateSecret, async (c) => {
    const id = c.req.valid("param").id;
    const { clientSecret } = await run(() => rotateClientSecret(deps, id));
    return c.json({ client_id: id, client_secret: clientSecret }, 200, { "Cache-Control": "no-store" });
  });
}
