/**
 * How every command prints, in one place: for people, aligned tables for lists, `key: value` blocks for one
 * record and one line for an outcome; with `--json`, exactly one JSON document on stdout (the shape the admin
 * API answers where it has the same resource) and nothing else there. Notes for people go to stderr.
 */

/** A command's printer, built by runCli for the command's `--json` flag. */
export interface Printer {
  /** True under `--json`. */
  readonly json: boolean;
  /** A list: a table of `rows` over `columns`; under --json, `doc` (default `{ items: rows }`). */
  list(rows: readonly object[], columns: readonly string[], doc?: unknown): void;
  /** One record: a `key: value` block; under --json, `doc` (default the record). */
  show(record: object, doc?: unknown): void;
  /**
   * The outcome of a create, update or action: `line` (and `more` lines, e.g. rejected rows); under --json,
   * `doc`. `secrets` are shown once, as a `key: value` block after the line (and are part of `doc`).
   */
  done(line: string, doc: unknown, options?: { secrets?: Record<string, string>; more?: string[] }): void;
  /** A line for people only, on stderr (a warning, a hint); silent under --json. */
  note(line: string): void;
}

/** Builds the printer writing to `out` (stdout) and `err` (stderr). */
export function printer(json: boolean, out: (s: string) => void, err: (s: string) => void): Printer {
  const emit = (doc: unknown) => out(JSON.stringify(doc, null, 2));
  return {
    json,
    list(rows, columns, doc) {
      if (json) emit(doc ?? { items: rows });
      else out(table(rows as Record<string, unknown>[], columns));
    },
    show(record, doc) {
      if (json) emit(doc ?? record);
      else out(block(record as Record<string, unknown>).join("\n"));
    },
    done(line, doc, options = {}) {
      if (json) return emit(doc);
      out([line, ...(options.more ?? [])].join("\n"));
      if (options.secrets) {
        out(block(options.secrets).join("\n"));
        err("The secret is shown only now; store it safely.");
      }
    },
    note(line) {
      if (!json) err(line);
    },
  };
}

/** One cell or value as people read it: nothing for null, lists space- or comma-joined, objects as JSON. */
function cell(v: unknown, join = " "): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) return v.join(join);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Formats rows as an aligned text table with upper-case headings; "(none)" when there are no rows. */
export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n");
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A record as aligned `key: value` lines; a nested record or a list of records is indented below its key
 * (list items marked with "-"), so a transaction's request or a sender's keys stay readable.
 */
export function block(record: Record<string, unknown>, indent = ""): string[] {
  const keys = Object.keys(record);
  const width = Math.max(0, ...keys.map((k) => k.length)) + 1;
  const lines: string[] = [];
  for (const key of keys) {
    const v = record[key];
    const label = `${indent}${`${key}:`.padEnd(width)}`;
    if (isRecord(v) && Object.keys(v).length > 0) {
      lines.push(`${indent}${key}:`, ...block(v, indent + "  "));
    } else if (Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null)) {
      lines.push(`${indent}${key}:`);
      for (const item of v) {
        const sub = isRecord(item) ? block(item, indent + "    ") : [`${indent}    ${cell(item)}`];
        lines.push(`${indent}  - ${sub[0].trimStart()}`, ...sub.slice(1));
      }
    } else {
      const text = Array.isArray(v) && v.length === 0 ? "(none)" : isRecord(v) ? "{}" : cell(v, ", ");
      lines.push(`${label} ${text === "" ? "-" : text}`.trimEnd());
    }
  }
  return lines;
}
