/** The audit log as CSV (csv-stringify), streamed page by page, with spreadsheet formulas neutralised. */
import { stringify } from "csv-stringify/sync";
import type { AuditFilter, AuditRow } from "./log.ts";
import { type AuditStore, eachAudit } from "./store.ts";

/** The export's columns, in order. */
export const AUDIT_CSV_COLUMNS = [
  "id",
  "at",
  "source",
  "actor_kind",
  "actor",
  "action",
  "target_kind",
  "target_id",
  "detail",
] as const;

/**
 * CSV text of rows: RFC 4180 quoting, and a cell starting with `= + - @`, tab or CR prefixed with `'`
 * (csv-stringify's escape_formulas) so a spreadsheet shows it as text instead of running it.
 */
export function auditCsvRows(rows: readonly AuditRow[], header: boolean): string {
  return stringify(
    rows.map((r) => AUDIT_CSV_COLUMNS.map((k) => (k === "detail" ? JSON.stringify(r.detail) : r[k] ?? ""))),
    {
      header,
      columns: header ? [...AUDIT_CSV_COLUMNS] : undefined,
      escape_formulas: true,
      record_delimiter: "\r\n",
    },
  );
}

/** Every row matching `filter` as a CSV stream, newest first, 500 rows per chunk. */
export function auditCsv(store: AuditStore, filter: AuditFilter): ReadableStream<Uint8Array> {
  const rows = eachAudit(store, filter);
  const encoder = new TextEncoder();
  let first = true;
  return new ReadableStream({
    async pull(controller) {
      const chunk: AuditRow[] = [];
      for (let r = await rows.next(); !r.done; r = await rows.next()) {
        chunk.push(r.value);
        if (chunk.length === 500) break;
      }
      if (chunk.length > 0 || first) controller.enqueue(encoder.encode(auditCsvRows(chunk, first)));
      first = false;
      if (chunk.length < 500) controller.close();
    },
  });
}
