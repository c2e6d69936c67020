/**
 * Server signing keys: rotate (a new Ed25519 or RSA key is published and signs DCI_KEY_PUBLISH_SECONDS later, or
 * at once; the old one stays published), and retire a published or waiting key, with a warning (and an explicit
 * "retire anyway") while access tokens it signed are valid.
 */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import { KeyError } from "../../keys/server_keys.ts";
import { retireWarning, tokensValidUntil } from "../../keys/retire_check.ts";
import type { ConsoleEnv } from "../context.ts";
import { Select, Table, WriteForm } from "../components.tsx";
import { consoleWrite, FormError, formText } from "../write.ts";

/** GET /console/server-keys, POST rotate and retire. */
export function serverKeyPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/server-keys", async (c) => {
    const keys = await deps.keys.list();
    const until = tokensValidUntil(keys, deps.config.tokenTtlSeconds);
    const now = deps.clock.now();
    return c.render(
      <>
        <Table
          caption="Server keys"
          rows={keys}
          columns={[
            { title: "Key id", cell: (k) => <span class="mono">{k.key_id}</span> },
            { title: "Algorithm", cell: (k) => k.alg },
            { title: "Status", cell: (k) => k.status + (k.retired_at ? ` ${k.retired_at}` : "") },
            { title: "Created", cell: (k) => k.created_at },
            { title: "Signs from", cell: (k) => k.signs_from },
            { title: "kid", cell: (k) => <span class="mono">{k.kid}</span> },
            {
              title: "Actions",
              cell: (k) => {
                if (k.status !== "published" && k.status !== "next") return null;
                const warning = retireWarning(k, until.get(k.key_id), now);
                return (
                  <WriteForm
                    action={`server-keys/${k.key_id}/retire`}
                    class="inline"
                    confirm={warning ??
                      (k.status === "next"
                        ? `Retire ${k.key_id}? It will never sign, and is no longer published.`
                        : `Retire ${k.key_id}? It is no longer published.`)}
                  >
                    {warning && (
                      <>
                        <p class="warning" role="note">{warning}</p>
                        <label class="check">
                          <input type="checkbox" name="force" />
                          Retire anyway
                        </label>
                      </>
                    )}
                    <button type="submit" class="danger">Retire</button>
                  </WriteForm>
                );
              },
            },
          ]}
        />
        <WriteForm
          action="server-keys/rotate"
          label="Rotate the signing key"
          confirm="Publish a new signing key? The current one stays published until you retire it."
        >
          <h2>Rotate</h2>
          <p>
            The new key is published at once and signs {deps.config.keyPublishSeconds}{" "}
            s later (DCI_KEY_PUBLISH_SECONDS), so partners that cached the JWKS know it by then.
          </p>
          <Select
            label="Algorithm of the new key"
            name="alg"
            options={["ed25519", "rsa-sha256"]}
            value="ed25519"
          />
          <label class="check">
            <input type="checkbox" name="now" />
            Sign with it at once (the current key is compromised)
          </label>
          <div class="actions">
            <button type="submit">Rotate signing key</button>
          </div>
        </WriteForm>
      </>,
      { title: "Server keys" },
    );
  });
  app.post("/server-keys/rotate", async (c) => {
    const body = await c.req.parseBody();
    return consoleWrite(c, deps, { action: "server_key.rotate", target: "", to: "server-keys" }, async () => {
      const alg = formText(body, "alg", 20);
      if (alg !== "ed25519" && alg !== "rsa-sha256") throw new FormError("alg must be ed25519 or rsa-sha256");
      const now = body.now === "on";
      const info = await deps.keys.rotate(alg, { now });
      return {
        target: info.key_id,
        input: { alg, now },
        detail: { now },
        flash: {
          kind: "ok",
          text: info.status === "active"
            ? `${info.key_id} (${alg}) now signs.`
            : `${info.key_id} (${alg}) is published and signs from ${info.signs_from}.`,
        },
      };
    });
  });
  app.post("/server-keys/:id/retire", async (c) => {
    const id = c.req.param("id");
    const body = await c.req.parseBody();
    return consoleWrite(c, deps, { action: "server_key.retire", target: id, to: "server-keys" }, async () => {
      const keys = await deps.keys.list();
      const key = keys.find((k) => k.key_id === id);
      if (!key) throw new KeyError(`Key "${id}" does not exist`);
      const warning = retireWarning(
        key,
        tokensValidUntil(keys, deps.config.tokenTtlSeconds).get(id),
        deps.clock.now(),
      );
      if (warning && body.force !== "on") {
        throw new FormError(`${warning} Tick "Retire anyway" to retire it.`);
      }
      await deps.keys.retire(id);
      return {
        input: { force: body.force === "on" },
        detail: { forced: Boolean(warning) },
        flash: { kind: "ok", text: `Retired ${id}.` },
      };
    });
  });
}
