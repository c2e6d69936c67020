/**
 * One sender: every setting (edit), disable/enable, remove, and its keys: paste a PEM or JWK, fetch the JWKS
 * URL (the outcome shown), remove. Each write calls the function the admin API calls.
 */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import { getSender, SenderError, updateSender } from "../../senders/store.ts";
import { deleteSender, disableSender, enableSender } from "../../senders/offboarding.ts";
import { addSenderKey, listSenderKeys, removeSenderKey } from "../../senders/keys.ts";
import { fetchSenderKeys } from "../../senders/jwks_fetch.ts";
import { type ConsoleEnv, href } from "../context.ts";
import { ActionButton, Field, Table, WriteForm } from "../components.tsx";
import { consoleWrite, formText } from "../write.ts";
import { senderInput } from "./sender_form.ts";
import { errorPage } from "../error_page.tsx";
import { SenderSettingsFields } from "./sender_settings.tsx";

/** GET /console/senders/:id and its writes. */
export function senderDetailPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/senders/:id", async (c) => {
    const sender = await getSender(deps, c.req.param("id"));
    if (!sender) return errorPage(c, 404, `There is no sender "${c.req.param("id")}".`);
    const id = sender.sender_id;
    const keys = await listSenderKeys(deps, id);
    const path = `senders/${encodeURIComponent(id)}`;
    return c.render(
      <>
        <p>
          <a href={href(c, "senders")}>All senders</a>
        </p>
        <dl class="props">
          <dt>Sender id</dt>
          <dd class="mono">{id}</dd>
          <dt>State</dt>
          <dd>
            {sender.active ? <span class="badge on">active</span> : <span class="badge off">disabled</span>}
          </dd>
          <dt>Created</dt>
          <dd>{sender.created_at}</dd>
          <dt>Last JWKS fetch</dt>
          <dd>
            {sender.jwks_fetched_at
              ? `${sender.jwks_fetched_at}: ${sender.jwks_fetch_status}${
                sender.jwks_fetch_error ? ` (${sender.jwks_fetch_error})` : ""
              }`
              : "never"}
          </dd>
        </dl>
        <div class="actions">
          {sender.active
            ? (
              <ActionButton
                action={`${path}/disable`}
                text="Disable"
                confirm={`Disable ${id}? Its requests and tokens are refused and deliveries to it are held until enabled.`}
              />
            )
            : <ActionButton action={`${path}/enable`} text="Enable" />}
          <ActionButton
            action={`${path}/remove`}
            text="Remove sender"
            danger
            confirm={`Remove ${id} with its keys and clients? Its subscriptions, notifications and open transactions are cancelled for good.`}
          />
        </div>
        <h2>Keys</h2>
        <Table
          caption="Sender keys"
          rows={keys}
          empty="No keys yet."
          columns={[
            { title: "Key id", cell: (k) => <span class="mono">{k.key_id}</span> },
            { title: "Algorithm", cell: (k) => k.alg },
            { title: "Source", cell: (k) => k.source },
            { title: "Added", cell: (k) => k.created_at },
            {
              title: "Actions",
              cell: (k) => (
                <ActionButton
                  action={`${path}/keys/${encodeURIComponent(k.key_id)}/remove`}
                  text="Remove"
                  danger
                  confirm={`Remove key ${k.key_id}? Signatures made with it stop verifying at once.`}
                />
              ),
            },
          ]}
        />
        {sender.jwks_url && (
          <WriteForm action={`${path}/keys/fetch`} class="inline" label="Fetch keys">
            <button type="submit">Fetch keys from JWKS URL</button>
            <span class="hint">{sender.jwks_url}</span>
          </WriteForm>
        )}
        <WriteForm action={`${path}/keys`} label="Add a key">
          <h3>Add a key</h3>
          <Field label="Key id" name="key_id" required maxlength={99} hint="The kid the sender signs with" />
          <Field
            label="Algorithm"
            name="alg"
            maxlength={20}
            hint="Optional: found from the key (ed25519 or rsa-sha256)"
          />
          <label>
            Public key (PEM or JWK)
            <textarea name="material" required maxlength={16384}></textarea>
          </label>
          <div class="actions">
            <button type="submit">Add key</button>
          </div>
        </WriteForm>
        <h2>Settings</h2>
        <WriteForm action={path} label="Sender settings">
          {/* Saved only if nothing changed the sender since this page was read (another tab, the CLI, the API). */}
          <input type="hidden" name="updated_at" value={sender.updated_at} />
          <SenderSettingsFields sender={sender} config={deps.config} />
          <div class="actions">
            <button type="submit">Save settings</button>
          </div>
        </WriteForm>
        {c.get("session")?.role !== "admin" && (
          // A viewer reads the same settings, in fields it cannot change (no form: nothing to post).
          <fieldset disabled class="stack" aria-label="Sender settings (read only)">
            <legend>Read only</legend>
            <SenderSettingsFields sender={sender} config={deps.config} />
          </fieldset>
        )}
      </>,
      { title: `Sender ${id}` },
    );
  });

  const at = (id: string, rest = "") => `senders/${encodeURIComponent(id)}${rest}`;
  app.post("/senders/:id", async (c) => {
    const id = c.req.param("id");
    const body = await c.req.parseBody();
    return consoleWrite(c, deps, { action: "sender.update", target: id, to: at(id) }, async () => {
      const current = await getSender(deps, id);
      if (!current) throw new SenderError("not_found", `sender "${id}" does not exist`);
      const input = senderInput(body, current);
      const read = typeof body.updated_at === "string" && body.updated_at !== ""
        ? body.updated_at
        : undefined;
      await updateSender(deps, id, input, { ifUpdatedAt: read });
      return { input: { ...input }, flash: { kind: "ok", text: "Settings saved." } };
    });
  });
  app.post("/senders/:id/disable", (c) => {
    const id = c.req.param("id");
    return consoleWrite(c, deps, { action: "sender.disable", target: id, to: at(id) }, async () => {
      const { held } = await disableSender(deps, id);
      return { detail: { ...held }, flash: { kind: "ok", text: `Disabled ${id}; its deliveries are held.` } };
    });
  });
  app.post("/senders/:id/enable", (c) => {
    const id = c.req.param("id");
    return consoleWrite(c, deps, { action: "sender.enable", target: id, to: at(id) }, async () => {
      await enableSender(deps, id);
      return { flash: { kind: "ok", text: `Enabled ${id}; held deliveries resume.` } };
    });
  });
  app.post("/senders/:id/remove", (c) => {
    const id = c.req.param("id");
    return consoleWrite(
      c,
      deps,
      { action: "sender.delete", target: id, to: "senders", back: at(id) },
      async () => {
        const cancelled = await deleteSender(deps, id);
        return { detail: { ...cancelled }, flash: { kind: "ok", text: `Removed sender ${id}.` } };
      },
    );
  });
  app.post("/senders/:id/keys", async (c) => {
    const id = c.req.param("id");
    const body = await c.req.parseBody();
    return consoleWrite(c, deps, { action: "sender_key.add", target: id, to: at(id) }, async () => {
      const keyId = formText(body, "key_id", 99);
      // addSenderKey reads PEM and JWK text alike (the admin API's parsing).
      const material = formText(body, "material", 65536);
      const alg = formText(body, "alg", 20) || undefined;
      const key = await addSenderKey(deps, id, { keyId, material, alg });
      return {
        input: { key_id: keyId, material, alg },
        flash: { kind: "ok", text: `Added key ${key.key_id} (${key.alg}).` },
      };
    });
  });
  app.post("/senders/:id/keys/fetch", (c) => {
    const id = c.req.param("id");
    return consoleWrite(c, deps, { action: "sender_key.fetch", target: id, to: at(id) }, async () => {
      const outcome = await fetchSenderKeys(deps, id);
      return {
        detail: { ...outcome },
        flash: outcome.ok
          ? { kind: "ok", text: `Fetched the JWKS: ${outcome.keys} key${outcome.keys === 1 ? "" : "s"}.` }
          : { kind: "error", text: `JWKS fetch failed (the keys are unchanged): ${outcome.error}` },
      };
    });
  });
  app.post("/senders/:id/keys/:keyId/remove", (c) => {
    const id = c.req.param("id");
    const keyId = c.req.param("keyId");
    const target = `${id}/${keyId}`;
    return consoleWrite(c, deps, { action: "sender_key.remove", target, to: at(id) }, async () => {
      await removeSenderKey(deps, id, keyId);
      return { detail: { key_id: keyId }, flash: { kind: "ok", text: `Removed key ${keyId}.` } };
    });
  });
}
