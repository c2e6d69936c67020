/** Paging the CLI's lists, newest first, by keyset: `--before` and the `(more: --before N)` note. */
import { UsageError } from "./cli.ts";
import type { Printer } from "./output.ts";

/** The `--before` option of a list, newest first: the `next_before` the previous page ended with. */
export const BEFORE_OPTION = {
  type: "string",
  description: "Page cursor: the next_before of the previous page (printed as a '(more: …)' note)",
} as const;

/** The `--before` cursor given, or undefined; a usage error when it is no row id. */
export function beforeOf(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError("--before must be a next_before of an earlier page");
  }
  return n;
}

/**
 * A page of a list newest first: its rows, and `next_before` (the id of its last row when the page is full, so
 * there may be more) with a '(more: --before N)' note for people.
 */
export function printPage<T extends { id: number }>(
  print: Printer,
  rows: T[],
  limit: number,
  show: (rows: T[], page: { next_before: number | null }) => void,
): void {
  const next = rows.length === limit ? rows[rows.length - 1].id : null;
  show(rows, { next_before: next });
  noteMore(print, next);
}

/** Tells people a list goes on (stderr; nothing under --json, whose document has `next_before`). */
export function noteMore(print: Printer, next: number | null): void {
  if (next !== null) print.note(`(more: --before ${next})`);
}
