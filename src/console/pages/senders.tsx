/** Senders: the list (filters, keyset pages) and the "new sender" form; one sender's page is sender_detail.tsx. */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import { addSender } from "../../senders/store.ts";
import { pageSenders } from "../../senders/listing.ts";
import { type ConsoleEnv, href } from "../context.ts";
import { Field, FilterForm, nextPageHref, Select, Table, WriteForm } from "../components.tsx";
import { consoleWrite } from "../write.ts";
import { senderInput } from "./sender_form.ts";
import { senderDetailPages } from "./sender_detail.tsx";

const STATES = ["", "active", "disabled"] as const;

/** GET/POST /console/senders and the sender pages under it. */
export function senderPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/senders", async (c) => {
    const search = (c.req.query("q") ?? "").slice(0, 100);
    const stateParam = c.req.query("state") ?? "";
    const state = stateParam === "active" || stateParam === "disabled" ? stateParam : undefined;
    const after = c.req.query("after")?.slice(0, 300);
    const page = await pageSenders(deps, { search: search || undefined, state, after });
    return c.render(
      <>
        <FilterForm label="Filter senders">
          <Field label="Id or name contains" name="q" value={search} maxlength={100} />
          <Select label="State" name="state" options={STATES} value={state ?? ""} />
        </FilterForm>
        <Table
          caption="Senders"
          rows={page.senders}
          empty="No sender matches."
          next={page.next && nextPageHref({ q: search, state }, page.next)}
          columns={[
            {
              title: "Sender id",
              cell: (s) => <a href={href(c, `senders/${encodeURIComponent(s.sender_id)}`)}>{s.sender_id}</a>,
            },
            { title: "Name", cell: (s) => s.name },
            {
              title: "State",
              cell: (s) =>
                s.active ? <span class="badge on">active</span> : <span class="badge off">disabled</span>,
            },
            {
              title: "Callback",
              cell: (s) => <span class="mono">{s.callback_base_url ?? "(header.sender_uri)"}</span>,
            },
            { title: "Signature", cell: (s) => s.signature_policy + (s.test_mode ? " · test" : "") },
            { title: "Limits /min /day", cell: (s) => `${s.limit_minute} / ${s.limit_day}`, numeric: true },
          ]}
        />
        <WriteForm action="senders" label="New sender">
          <h2>New sender</h2>
          <Field
            label="Sender id"
            name="sender_id"
            required
            maxlength={255}
            hint="The DCI header.sender_id, e.g. openspp.example.org"
          />
          <Field label="Name" name="name" maxlength={200} />
          <Field
            label="Callback base URL"
            name="callback_base_url"
            type="url"
            hint="Blank: callbacks go to header.sender_uri"
          />
          <Field
            label="JWKS URL"
            name="jwks_url"
            type="url"
            hint="Where the sender publishes its public keys (optional)"
          />
          <div class="actions">
            <button type="submit">Create sender</button>
          </div>
        </WriteForm>
      </>,
      { title: "Senders" },
    );
  });

  app.post("/senders", async (c) => {
    const body = await c.req.parseBody();
    const id = String(body.sender_id ?? "").trim().slice(0, 300);
    return consoleWrite(c, deps, {
      action: "sender.create",
      target: id,
      to: `senders/${encodeURIComponent(id)}`,
      back: "senders",
    }, async () => {
      const input = senderInput(body);
      await addSender(deps, id, input);
      return { input: { sender_id: id, ...input }, flash: { kind: "ok", text: `Created sender ${id}.` } };
    });
  });

  senderDetailPages(app, deps);
}
