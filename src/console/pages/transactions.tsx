/**
 * Transactions: the keyset-paged list with filters (state, sender, registry, time), and one transaction with its
 * request, its answer, its callback (attempts, last error, receiver's code), the table of every callback attempt
 * with its error, and a Retry button when it failed.
 * Reads and the retry are the admin API's service functions (src/transactions/operations.ts).
 */
import { type BulkProgress, bulkProgressLine, type UndeliveredPage } from "../../transactions/bulk_store.ts";
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import type { ConsoleEnv } from "../context.ts";
import { href } from "../context.ts";
import { ActionButton, Field, FilterForm, nextPageHref, Select, Table } from "../components.tsx";
import { consoleWrite, FormError } from "../write.ts";
import { cursor, isoTime, pick, PropList, short } from "../query.tsx";
import { TXN_STATES } from "../../transactions/states.ts";
import {
  detail,
  findTxn,
  listTxns,
  retryCallback,
  retryRefusalMessage,
} from "../../transactions/operations.ts";
import type { TxnDetail, TxnSummary } from "../../transactions/operations.ts";
import type { CallbackAttempt } from "../../transactions/attempts.ts";

const REGISTRY = /^[a-z][a-z0-9_-]{0,31}$/;

/** GET /console/transactions, GET /console/transactions/:id, POST /console/transactions/:id/retry */
export function transactionPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/transactions", async (c) => {
    const f = {
      state: pick(c.req.query("state"), TXN_STATES),
      sender_id: short(c.req.query("sender_id")),
      registry: REGISTRY.test(c.req.query("registry") ?? "") ? c.req.query("registry") : undefined,
      since: isoTime(c.req.query("since")),
      until: isoTime(c.req.query("until")),
    };
    const page = await listTxns(deps, {
      state: f.state,
      senderId: f.sender_id,
      registry: f.registry,
      since: f.since,
      until: f.until,
      before: cursor(c.req.query("after")),
      limit: 50,
    });
    const next = page.next_before === null ? undefined : nextPageHref(f, String(page.next_before));
    return c.render(
      <>
        <FilterForm label="Filter transactions">
          <Select label="State" name="state" options={["", ...TXN_STATES]} value={f.state ?? ""} />
          <Field label="Sender" name="sender_id" value={f.sender_id} maxlength={255} />
          <Field label="Registry" name="registry" value={f.registry} maxlength={32} />
          <Field label="Since" name="since" value={f.since} hint="ISO time" maxlength={40} />
          <Field label="Until" name="until" value={f.until} hint="ISO time" maxlength={40} />
        </FilterForm>
        <Table<TxnSummary>
          caption="Transactions, newest first"
          rows={page.items}
          next={next}
          empty="No transaction matches."
          columns={[
            {
              title: "Correlation id",
              cell: (t) => (
                <a class="mono" href={href(c, `transactions/${encodeURIComponent(t.correlation_id)}`)}>
                  {t.correlation_id}
                </a>
              ),
            },
            { title: "Transaction id", cell: (t) => t.transaction_id },
            { title: "Sender", cell: (t) => t.sender_id },
            { title: "Registry", cell: (t) => t.registry },
            { title: "Action", cell: (t) => t.action },
            { title: "State", cell: (t) => <span class={stateBadge(t.state)}>{t.state}</span> },
            { title: "Attempts", cell: (t) => t.attempts, numeric: true },
            { title: "Last error", cell: (t) => t.last_error ?? "" },
            { title: "Created", cell: (t) => t.created_at },
          ]}
        />
      </>,
      { title: "Transactions" },
    );
  });

  app.get("/transactions/:id", async (c) => {
    const row = await findTxn(deps, c.req.param("id"));
    if (!row) {
      c.status(404);
      return c.render(<p class="flash error" role="alert">No such transaction.</p>, { title: "Transaction" });
    }
    const d = await detail(deps, row) as TxnDetail & TxnSummary;
    const props: Array<[string, unknown]> = [
      ["Correlation id", d.correlation_id],
      ["Transaction id", d.transaction_id],
      ["Sender", d.sender_id],
      ["Registry", d.registry],
      ["Action", d.action],
      ["State", d.state],
      ["DCI status", d.status],
      ...(d.bulk ? [["Bulk file", bulkProgressLine(d.bulk as BulkProgress)] as [string, unknown]] : []),
      ["Callback URL", d.callback_url],
      ["Callback attempts", d.attempts],
      ["Last callback error", d.last_error ?? "none"],
      ["Receiver's answer code", d.receiver_code ?? "none"],
      ["Next attempt", d.next_attempt_at ?? "none"],
      ["Processing attempts", d.process_attempts],
      ["Processing error", d.process_error ?? "none"],
      ["Created", d.created_at],
      ["Completed", d.completed_at ?? ""],
    ];
    return c.render(
      <>
        <PropList id="txn-props" rows={props} />
        {d.state === "callback_failed" && (
          <ActionButton
            action={`transactions/${encodeURIComponent(d.correlation_id)}/retry`}
            text="Retry callback"
          />
        )}
        {d.bulk ? <UndeliveredPages bulk={d.bulk as BulkProgress} /> : null}
        <h2>Callback attempts</h2>
        <AttemptTable attempts={d.callback_attempts} omitted={d.callback_attempts_omitted} />
        <h2>Request</h2>
        <pre class="json" tabindex={0}>{JSON.stringify(d.request, null, 2)}</pre>
        <h2>Answer</h2>
        <pre
          class="json"
          tabindex={0}
        >{d.result ? JSON.stringify(d.result, null, 2) : "(not processed yet)"}</pre>
      </>,
      { title: `Transaction ${d.transaction_id}` },
    );
  });

  app.post("/transactions/:id/retry", (c) => {
    const id = c.req.param("id");
    const to = `transactions/${encodeURIComponent(id)}`;
    return consoleWrite(c, deps, { action: "transaction.retry", target: id, to }, async () => {
      const r = await retryCallback(deps, id);
      if (!r.ok) throw new FormError(retryRefusalMessage(id, r.reason, r.state));
      return { flash: { kind: "ok", text: `Callback retry scheduled (state ${r.row.state}).` } };
    });
  });
}

/** Every kept callback attempt, oldest first: when, how long, the receiver's status and code, the error. */
function AttemptTable(props: { attempts: CallbackAttempt[]; omitted: number }) {
  return (
    <>
      {props.omitted > 0 && <p>{props.omitted} older attempts are no longer kept.</p>}
      <Table<CallbackAttempt>
        caption="Callback attempts, oldest first"
        rows={props.attempts}
        empty="No callback attempt yet."
        columns={[
          { title: "#", cell: (a) => a.attempt, numeric: true },
          { title: "When", cell: (a) => a.started_at },
          { title: "Duration", cell: (a) => `${a.duration_ms} ms`, numeric: true },
          {
            title: "Status / code",
            cell: (a) => [a.http_status ?? "no answer", a.receiver_code].filter((x) => x !== null).join(" "),
          },
          { title: "Outcome", cell: (a) => a.outcome },
          { title: "Error", cell: (a) => a.error ?? "" },
        ]}
      />
    </>
  );
}

/** A bulk search's built pages not delivered yet or failed for good (the first PAGES_LISTED), with their errors. */
function UndeliveredPages(props: { bulk: BulkProgress }) {
  return (
    <>
      <h2>Pages not delivered</h2>
      <Table<UndeliveredPage>
        caption="Pages of the bulk search not delivered, in page order"
        rows={props.bulk.pages_undelivered}
        empty="Every page built so far has been delivered."
        columns={[
          { title: "Page", cell: (p) => p.page, numeric: true },
          { title: "State", cell: (p) => p.state },
          { title: "Attempts", cell: (p) => p.attempts, numeric: true },
          { title: "Last error", cell: (p) => p.last_error ?? "" },
        ]}
      />
    </>
  );
}

function stateBadge(state: string): string {
  return state === "callback_failed" || state === "rejected" ? "badge off" : "badge on";
}
