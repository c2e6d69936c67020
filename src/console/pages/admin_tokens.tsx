/** Admin tokens: list, create an admin or viewer token (its secret shown once), revoke. */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import type { AdminRole } from "../../admin/tokens.ts";
import { isoNow } from "../../clock.ts";
import type { ConsoleEnv } from "../context.ts";
import { ActionButton, Field, Select, Table, WriteForm } from "../components.tsx";
import { consoleWrite, FormError, formText } from "../write.ts";

/** GET/POST /console/admin-tokens and POST /console/admin-tokens/:id/revoke. */
export function adminTokenPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/admin-tokens", async (c) => {
    const own = c.get("session")!.tokenId;
    return c.render(
      <>
        <Table
          caption="Admin tokens"
          rows={await deps.storage.adminTokens.list()}
          columns={[
            { title: "Id", cell: (t) => <span class="mono">{t.id}</span> },
            { title: "Name", cell: (t) => t.name },
            { title: "Role", cell: (t) => t.role },
            { title: "Source", cell: (t) => t.source },
            { title: "Created", cell: (t) => t.created_at },
            { title: "Last used", cell: (t) => t.last_used_at ?? "never" },
            {
              title: "State",
              cell: (t) =>
                t.revoked_at
                  ? <span class="badge off">revoked {t.revoked_at}</span>
                  : <span class="badge on">active</span>,
            },
            {
              title: "Actions",
              cell: (t) =>
                !t.revoked_at && (
                  <ActionButton
                    action={`admin-tokens/${t.id}/revoke`}
                    text="Revoke"
                    danger
                    confirm={t.id === own
                      ? `Revoke ${t.id}? It is the token of this session: you will be logged out.`
                      : `Revoke ${t.id}? Every request and console session using it stops at once.`}
                  />
                ),
            },
          ]}
        />
        <WriteForm action="admin-tokens" label="Create an admin token">
          <h2>Create a token</h2>
          <Select
            label="Role"
            name="role"
            options={["viewer", "admin"]}
            value="viewer"
            hint="viewer: read only"
          />
          <Field label="Name" name="name" maxlength={100} hint="A label to recognise it by" />
          <div class="actions">
            <button type="submit">Create token</button>
          </div>
        </WriteForm>
      </>,
      { title: "Admin tokens" },
    );
  });

  app.post(
    "/admin-tokens",
    (c) =>
      consoleWrite(c, deps, { action: "admin_token.create", target: "", to: "admin-tokens" }, async () => {
        const body = await c.req.parseBody();
        const role = formText(body, "role", 10);
        if (role !== "admin" && role !== "viewer") throw new FormError("role must be admin or viewer");
        const name = formText(body, "name", 100) || undefined;
        const { token, info } = await deps.storage.adminTokens.create({
          role: role as AdminRole,
          name,
          now: isoNow(deps.clock),
        });
        return {
          target: info.id,
          input: { role, name },
          flash: { kind: "ok", text: `Created ${role} token ${info.id}.` },
          secret: { title: "New admin token", label: `The ${role} token ${info.id}:`, value: token },
        };
      }),
  );

  app.post("/admin-tokens/:id/revoke", (c) => {
    const id = c.req.param("id");
    return consoleWrite(
      c,
      deps,
      { action: "admin_token.revoke", target: id, to: "admin-tokens" },
      async () => {
        if (!(await deps.storage.adminTokens.revoke(id, isoNow(deps.clock)))) {
          throw new FormError(`No active admin token "${id}"`);
        }
        return { flash: { kind: "ok", text: `Revoked ${id}.` } };
      },
    );
  });
}
