/** OAuth clients: list (by sender), create (the secret shown once), revoke, rotate the secret (shown once). */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import {
  createClient,
  DEFAULT_SCOPES,
  pageClients,
  revokeClient,
  rotateClientSecret,
  SCOPES,
} from "../../senders/clients.ts";
import type { ConsoleEnv } from "../context.ts";
import { ActionButton, Field, FilterForm, nextPageHref, Table, WriteForm } from "../components.tsx";
import { SenderError } from "../../senders/errors.ts";
import { consoleWrite, formText } from "../write.ts";

const SECRET_NOTE = "Store it now: it is not shown again. Only its hash is kept.";

/** GET/POST /console/oauth-clients and the revoke / rotate writes. */
export function oauthClientPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/oauth-clients", async (c) => {
    const sender = (c.req.query("sender_id") ?? "").slice(0, 255);
    const after = c.req.query("after")?.slice(0, 1000);
    // A cursor that is not one of this list's (edited by hand) shows the first page.
    const page = await pageClients(deps, { senderId: sender || undefined, after }).catch((err) => {
      if (after && err instanceof SenderError) return pageClients(deps, { senderId: sender || undefined });
      throw err;
    });
    return c.render(
      <>
        <FilterForm label="Filter clients">
          <Field label="Sender id" name="sender_id" value={sender} maxlength={255} />
        </FilterForm>
        <Table
          caption="OAuth clients"
          rows={page.clients}
          empty="No client yet."
          next={page.next && nextPageHref({ sender_id: sender }, page.next)}
          columns={[
            { title: "Client id", cell: (k) => <span class="mono">{k.client_id}</span> },
            { title: "Sender", cell: (k) => k.sender_id },
            { title: "Name", cell: (k) => k.name ?? "" },
            { title: "Scopes", cell: (k) => k.scopes.join(" ") },
            { title: "Created", cell: (k) => k.created_at },
            { title: "Secret rotated", cell: (k) => k.secret_rotated_at ?? "" },
            {
              title: "State",
              cell: (k) =>
                k.active
                  ? <span class="badge on">active</span>
                  : <span class="badge off">revoked {k.revoked_at}</span>,
            },
            {
              title: "Actions",
              cell: (k) =>
                k.active && (
                  <>
                    <ActionButton
                      action={`oauth-clients/${k.client_id}/rotate-secret`}
                      text="Rotate secret"
                      confirm={`Give ${k.client_id} a new secret? The old one, and every token obtained with it, stops working at once.`}
                    />{" "}
                    <ActionButton
                      action={`oauth-clients/${k.client_id}/revoke`}
                      text="Revoke"
                      danger
                      confirm={`Revoke ${k.client_id}? Its tokens stop working at the next request.`}
                    />
                  </>
                ),
            },
          ]}
        />
        <WriteForm action="oauth-clients" label="New OAuth client">
          <h2>New client</h2>
          <Field label="Sender id" name="sender_id" value={sender} required maxlength={255} />
          <Field label="Name" name="name" maxlength={200} />
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label class="check" key={s}>
                <input
                  type="checkbox"
                  name="scope"
                  value={s}
                  checked={(DEFAULT_SCOPES as readonly string[]).includes(s)}
                />
                {s}
              </label>
            ))}
          </fieldset>
          <div class="actions">
            <button type="submit">Create client</button>
          </div>
        </WriteForm>
      </>,
      { title: "OAuth clients" },
    );
  });

  app.post("/oauth-clients", async (c) => {
    const body = await c.req.parseBody({ all: true });
    return consoleWrite(c, deps, { action: "client.create", target: "", to: "oauth-clients" }, async () => {
      const raw = body.scope;
      const scopes = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String).slice(0, 20);
      const senderId = formText(body as Record<string, unknown>, "sender_id", 255);
      const name = formText(body as Record<string, unknown>, "name", 200) || undefined;
      const { client, clientSecret } = await createClient(deps, senderId, { scopes, name });
      return {
        target: client.client_id,
        input: { sender_id: senderId, scopes, name },
        flash: { kind: "ok", text: `Created client ${client.client_id} for ${senderId}.` },
        secret: {
          title: "New OAuth client",
          label: `Client id ${client.client_id}; its secret:`,
          value: clientSecret,
          note: SECRET_NOTE,
        },
      };
    });
  });
  app.post("/oauth-clients/:id/revoke", (c) => {
    const id = c.req.param("id");
    return consoleWrite(c, deps, { action: "client.revoke", target: id, to: "oauth-clients" }, async () => {
      await revokeClient(deps, id);
      return { flash: { kind: "ok", text: `Revoked ${id}.` } };
    });
  });
  app.post("/oauth-clients/:id/rotate-secret", (c) => {
    const id = c.req.param("id");
    return consoleWrite(
      c,
      deps,
      { action: "client.rotate_secret", target: id, to: "oauth-clients" },
      async () => {
        const { clientSecret } = await rotateClientSecret(deps, id);
        return {
          flash: { kind: "ok", text: `Rotated the secret of ${id}.` },
          secret: {
            title: "New client secret",
            label: `The new secret of ${id}:`,
            value: clientSecret,
            note: SECRET_NOTE,
          },
        };
      },
    );
  });
}
