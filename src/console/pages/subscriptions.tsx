/**
 * Subscriptions (filters, keyset pages; one subscription with approve / cancel / reactivate and its
 * notifications) and the notification log (filters). The admin API's service functions do the work
 * (src/subscriptions/operations.ts, store.ts, notifications.ts).
 */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import { type ConsoleEnv, href } from "../context.ts";
import { ActionButton, Field, FilterForm, nextPageHref, Select, Table } from "../components.tsx";
import { consoleWrite, FormError } from "../write.ts";
import { cursor, pick, PropList, short } from "../query.tsx";
import { SUBSCRIPTION_STATES, type SubscriptionRow } from "../../subscriptions/store.ts";
import { NOTIFICATION_STATUSES, type NotificationView } from "../../subscriptions/notifications.ts";
import {
  approve,
  cancel,
  reactivate,
  showSubscription,
  SubscriptionOpError,
} from "../../subscriptions/operations.ts";
import { cronExpression } from "../../subscriptions/frequency.ts";

const CODE = /^[\x21-\x7e]{1,99}$/;

/** GET /console/subscriptions[/:code], POST …/:code/{approve,cancel,reactivate}, GET /console/notifications */
export function subscriptionPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/subscriptions", async (c) => {
    const f = {
      state: pick(c.req.query("state"), SUBSCRIPTION_STATES),
      sender_id: short(c.req.query("sender_id")),
      registry: short(c.req.query("registry")),
    };
    const rows = await deps.storage.subscriptions.list({
      state: f.state,
      sender: f.sender_id,
      registry: f.registry,
      before: cursor(c.req.query("after")),
      limit: 50,
    });
    const next = rows.length === 50 ? nextPageHref(f, String(rows[49].id)) : undefined;
    return c.render(
      <>
        <FilterForm label="Filter subscriptions">
          <Select label="State" name="state" options={["", ...SUBSCRIPTION_STATES]} value={f.state ?? ""} />
          <Field label="Sender" name="sender_id" value={f.sender_id} maxlength={255} />
          <Field label="Registry" name="registry" value={f.registry} maxlength={32} />
        </FilterForm>
        <Table<SubscriptionRow>
          caption="Subscriptions, newest first"
          rows={rows}
          next={next}
          empty="No subscription matches."
          columns={[
            {
              title: "Code",
              cell: (s) => <a href={href(c, `subscriptions/${encodeURIComponent(s.code)}`)}>{s.code}</a>,
            },
            { title: "Sender", cell: (s) => s.sender_id },
            { title: "Registry", cell: (s) => s.registry },
            { title: "Event", cell: (s) => s.reg_event_type },
            { title: "State", cell: (s) => <span class={badge(s.state)}>{s.state}</span> },
            { title: "Created", cell: (s) => s.created_at },
          ]}
        />
        <p>
          <a href={href(c, "notifications")}>Notification log</a>
        </p>
      </>,
      { title: "Subscriptions" },
    );
  });

  app.get("/subscriptions/:code", async (c) => {
    const code = c.req.param("code");
    let s: SubscriptionRow;
    try {
      s = await showSubscription(deps, code);
    } catch (err) {
      // Only a missing subscription: a storage fault is the 503 page (onError), and logged.
      if (!(err instanceof SubscriptionOpError && err.kind === "not_found")) throw err;
      c.status(404);
      return c.render(<p class="flash error" role="alert">No such subscription.</p>, {
        title: "Subscription",
      });
    }
    const base = `subscriptions/${encodeURIComponent(s.code)}`;
    const notifications = await deps.storage.notifications.list({ subscription: s.code, limit: 50 });
    const shown: Array<[string, unknown]> = [
      ["Code", s.code],
      ["Sender", s.sender_id],
      ["Registry", s.registry],
      ["Event type", s.reg_event_type],
      ["Record type", s.notify_record_type],
      ["Filter", s.filter ?? "none"],
      ["Frequency", cronExpression(s.frequency) ?? "none (each event at once)"],
      ["Start", s.start_time ?? "none"],
      ["End", s.end_time ?? "none"],
      ["Notify URL", s.callback_url],
      ["State", s.state],
      ["Consecutive failures", s.consecutive_failures],
      ["Created", s.created_at],
    ];
    return c.render(
      <>
        <PropList id="subscription-props" rows={shown} />
        <div class="actions">
          {s.state === "pending" && <ActionButton action={`${base}/approve`} text="Approve" />}
          {s.state === "error" && <ActionButton action={`${base}/reactivate`} text="Reactivate" />}
          {(s.state === "pending" || s.state === "active" || s.state === "error") && (
            <ActionButton action={`${base}/cancel`} text="Cancel" danger confirm={`Cancel ${s.code}?`} />
          )}
        </div>
        <h2>Notifications</h2>
        <NotificationTable
          rows={notifications}
          // The rest in the notification log, filtered to this subscription, from where this page ends.
          next={notifications.length === 50
            ? href(c, `notifications${nextPageHref({ subscription: s.code }, String(notifications[49].id))}`)
            : undefined}
        />
      </>,
      { title: `Subscription ${s.code}` },
    );
  });

  for (const verb of ["approve", "cancel", "reactivate"] as const) {
    app.post(`/subscriptions/:code/${verb}`, (c) => {
      const code = c.req.param("code");
      const to = `subscriptions/${encodeURIComponent(code)}`;
      return consoleWrite(c, deps, { action: `subscription.${verb}`, target: code, to }, async () => {
        if (!CODE.test(code)) throw new FormError("Bad subscription code");
        try {
          const row = verb === "reactivate"
            ? (await reactivate(deps, code)).row
            : await (verb === "approve" ? approve : cancel)(deps, code);
          return { flash: { kind: "ok", text: `Subscription ${code} is now ${row.state}.` } };
        } catch (err) {
          if (err instanceof SubscriptionOpError) throw new FormError(err.message);
          throw err;
        }
      });
    });
  }

  app.get("/notifications", async (c) => {
    const f = {
      subscription: short(c.req.query("subscription")),
      sender_id: short(c.req.query("sender_id")),
      status: pick(c.req.query("status"), NOTIFICATION_STATUSES),
    };
    const rows = await deps.storage.notifications.list({
      subscription: f.subscription,
      sender: f.sender_id,
      status: f.status,
      before: cursor(c.req.query("after")),
      limit: 50,
    });
    return c.render(
      <>
        <FilterForm label="Filter notifications">
          <Field label="Subscription" name="subscription" value={f.subscription} maxlength={99} />
          <Field label="Sender" name="sender_id" value={f.sender_id} maxlength={255} />
          <Select
            label="Status"
            name="status"
            options={["", ...NOTIFICATION_STATUSES]}
            value={f.status ?? ""}
          />
        </FilterForm>
        <NotificationTable
          rows={rows}
          next={rows.length === 50 ? nextPageHref(f, String(rows[49].id)) : undefined}
        />
      </>,
      { title: "Notification log" },
    );
  });
}

function NotificationTable(props: { rows: NotificationView[]; next?: string }) {
  return (
    <Table<NotificationView>
      caption="Notifications, newest first"
      rows={props.rows}
      next={props.next}
      empty="No notification."
      columns={[
        { title: "Notification id", cell: (n) => <span class="mono">{n.notification_id}</span> },
        { title: "Subscription", cell: (n) => n.subscription_code },
        { title: "Event", cell: (n) => n.event_type },
        { title: "Status", cell: (n) => <span class={badge(n.status)}>{n.status}</span> },
        // A held notification (cron, retry) is due later; a stuck one was due long ago.
        { title: "Due", cell: (n) => n.status === "pending" ? n.next_attempt_at : "" },
        { title: "Attempts", cell: (n) => n.attempts, numeric: true },
        { title: "Last error", cell: (n) => n.last_error ?? "" },
        { title: "Created", cell: (n) => n.created_at },
      ]}
    />
  );
}

function badge(state: string): string {
  return state === "failed" || state === "error" || state === "cancelled" ? "badge off" : "badge on";
}
