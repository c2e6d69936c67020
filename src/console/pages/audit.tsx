/**
 * The audit log: every admin write (console, admin API, CLI) with filters, keyset pages and the CSV export of
 * what the filters select (the same store and CSV as GET /admin/v1/audit.csv).
 */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import type { ConsoleEnv } from "../context.ts";
import { Field, FilterForm, nextPageHref, Select, Table } from "../components.tsx";
import type { AuditFilter, AuditRow } from "../../audit/log.ts";
import { auditCsv } from "../../audit/csv.ts";

const SOURCES = ["api", "cli", "console"] as const;

/** GET /console/audit and GET /console/audit.csv */
export function auditPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/audit", async (c) => {
    const f = filtersOf(c.req.query());
    const before = Number(c.req.query("after"));
    const page = await deps.storage.audit.list({
      ...f.filter,
      before: Number.isSafeInteger(before) && before > 0 ? before : undefined,
      limit: 50,
    });
    const csv = new URLSearchParams(Object.entries(f.shown).filter(([, v]) => v) as [string, string][]);
    return c.render(
      <>
        <FilterForm label="Filter the audit log">
          <Field
            label="Actor"
            name="actor"
            value={f.shown.actor}
            hint="token id or OS user"
            maxlength={200}
          />
          <Field
            label="Action"
            name="action"
            value={f.shown.action}
            hint="e.g. sender.update"
            maxlength={200}
          />
          <Field label="Target kind" name="target_kind" value={f.shown.target_kind} maxlength={200} />
          <Field label="Target id" name="target_id" value={f.shown.target_id} maxlength={200} />
          <Select label="Source" name="source" options={["", ...SOURCES]} value={f.shown.source ?? ""} />
          <Field label="Since" name="since" value={f.shown.since} hint="ISO time" maxlength={40} />
          <Field label="Until" name="until" value={f.shown.until} hint="ISO time" maxlength={40} />
        </FilterForm>
        <p>
          <a class="button secondary" href={`audit.csv?${csv}`} download>Export as CSV</a>
        </p>
        <Table<AuditRow>
          caption="Audit log, newest first"
          rows={page.items}
          next={page.next_before === null ? undefined : nextPageHref(f.shown, String(page.next_before))}
          empty="No entry matches."
          columns={[
            { title: "When", cell: (r) => r.at },
            { title: "Source", cell: (r) => r.source },
            { title: "Actor", cell: (r) => <span class="mono">{`${r.actor_kind}:${r.actor}`}</span> },
            { title: "Action", cell: (r) => r.action },
            { title: "Target", cell: (r) => r.target_kind ? `${r.target_kind} ${r.target_id ?? ""}` : "" },
            { title: "Detail", cell: (r) => <span class="mono">{JSON.stringify(r.detail)}</span> },
          ]}
        />
      </>,
      { title: "Audit log" },
    );
  });

  app.get("/audit.csv", (c) => {
    const stamp = new Date(deps.clock.now()).toISOString().slice(0, 19).replace(/[:T]/g, "-");
    return new Response(auditCsv(deps.storage.audit, filtersOf(c.req.query()).filter), {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="audit-${stamp}.csv"`,
      },
    });
  });
}

/** The filters of a query: as the store takes them, and as the form shows them (unknown or bad ones dropped). */
function filtersOf(
  q: Record<string, string>,
): { filter: AuditFilter; shown: Record<string, string | undefined> } {
  const text = (k: string) => {
    const v = q[k]?.trim();
    return v && v.length <= 200 ? v : undefined;
  };
  const time = (k: string) => {
    const v = text(k);
    const ms = v === undefined ? NaN : Date.parse(v);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  };
  const source = SOURCES.find((s) => s === q.source);
  const shown = {
    actor: text("actor"),
    action: text("action"),
    target_kind: text("target_kind"),
    target_id: text("target_id"),
    source,
    since: time("since"),
    until: time("until"),
  };
  return {
    shown,
    filter: {
      actor: shown.actor,
      action: shown.action,
      targetKind: shown.target_kind,
      targetId: shown.target_id,
      source,
      since: shown.since,
      until: shown.until,
    },
  };
}
