/**
 * The tables of bulk searches (migration 0025): a file's progress beside its transaction row, and its answer
 * pages. Each step is one conditional statement or one guarded write (a savepoint of the store's group commit),
 * so a resumed run never builds or counts a page twice.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { BulkFormat } from "./bulk_file.ts";

/** A bulk search's progress. */
export interface BulkRow {
  txn: number;
  spool: string;
  file_name: string;
  file_format: BulkFormat;
  items_total: number;
  page_size: number;
  pages_total: number;
  pages_built: number;
  items_done: number;
  next_offset: number;
  pages_sent: number;
  pages_failed: number;
}

/** One answer page (its message apart: pageMessage). */
export interface PageRow {
  txn: number;
  page: number;
  items: number;
  completed: number;
  message_id: string;
  state: "pending" | "sent" | "failed";
  attempts: number;
  last_error: string | null;
}

/** What accepting a bulk search records of its file, beside the transaction row. */
export type NewBulk = Pick<BulkRow, "spool" | "file_name" | "file_format" | "items_total" | "page_size"> & {
  /**
   * The sender's open bulk searches allowed (DCI_BULK_MAX_OPEN_PER_SENDER), counted again in the insert's write:
   * the upload's early check, before its body, may be passed by uploads arriving together.
   */
  maxOpen?: number;
};

/** An insert refused: the sender has `open` bulk searches open, the most it may (NewBulk.maxOpen). */
export class BulkOpenLimit extends Error {
  constructor(readonly open: number) {
    super(`the sender has ${open} bulk searches open`);
  }
}

/** Records a new bulk search for transaction `txn` (in the caller's write transaction). */
export function insertBulk(db: Db, b: NewBulk & { txn: number }): void {
  stmt(db, INSERT_BULK).run(...insertBulkArgs(b));
  stmt(db, BULK_COUNTS).run(b.items_total, b.txn);
}

/** A new bulk search (arguments: insertBulkArgs). */
export const INSERT_BULK =
  `INSERT INTO bulk_searches (txn, spool, file_name, file_format, items_total, page_size,
    pages_total)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** The arguments of INSERT_BULK. */
export function insertBulkArgs(b: NewBulk & { txn: number }): Array<string | number> {
  return [
    b.txn,
    b.spool,
    b.file_name,
    b.file_format,
    b.items_total,
    b.page_size,
    Math.ceil(b.items_total / b.page_size),
  ];
}

/**
 * The transaction's counts are the file's: lookups in it, and (as pages go out) lookups delivered:
 * (itemsTotal, txn).
 */
export const BULK_COUNTS = "UPDATE transactions SET total_count = ?, completed_count = 0 WHERE id = ?";

/** The bulk search of transaction `txn`, if it is one. */
export function getBulk(db: Db, txn: number): BulkRow | undefined {
  return stmt(db, GET_BULK).get(txn) as BulkRow | undefined;
}

/** (txn). */
export const GET_BULK = "SELECT * FROM bulk_searches WHERE txn = ?";

/** One statement and its arguments. */
export interface Step {
  sql: string;
  args: Array<string | number | null>;
}

/**
 * A write of several statements in one transaction: `guard` is conditional, and the rest run only when it changed
 * exactly one row (the write's result is then true). Both backends run the same steps.
 */
export interface GuardedWrite {
  guard: Step;
  then: Step[];
}

/**
 * Runs the steps of `w`, in no transaction of its own: the SQLite store runs it in its turn's group commit (one
 * savepoint, so it is written whole or not at all), never waiting for the write lock by blocking the isolate.
 */
export function runGuarded(db: Db, w: GuardedWrite): boolean {
  if (Number(stmt(db, w.guard.sql).run(...w.guard.args).changes) !== 1) return false;
  for (const s of w.then) stmt(db, s.sql).run(...s.args);
  return true;
}

/** A page to store (see storePage). */
export type NewPage = {
  txn: number;
  page: number;
  items: number;
  completed: number;
  message: string;
  nextOffset: number;
};

/**
 * Stores page `page` (the next one) and moves the resumption point past its lookups, in one transaction; the
 * transaction's attempt count restarts, since the run made progress. False when the page was already built.
 */
export function storePage(db: Db, p: NewPage): boolean {
  return runGuarded(db, storePageWrite(p));
}

/** The steps of storePage. */
export function storePageWrite(p: NewPage): GuardedWrite {
  return {
    guard: {
      sql: `UPDATE bulk_searches SET pages_built = ?, items_done = ?, next_offset = ?
        WHERE txn = ? AND pages_built = ?`,
      args: [p.page, p.completed, p.nextOffset, p.txn, p.page - 1],
    },
    then: [
      {
        sql: `INSERT INTO bulk_pages (txn, page, items, completed, message, message_id, state)
          VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
        args: [p.txn, p.page, p.items, p.completed, p.message, crypto.randomUUID()],
      },
      { sql: "UPDATE transactions SET process_attempts = 1 WHERE id = ?", args: [p.txn] },
    ],
  };
}

/**
 * The first page still to deliver (pages go out in order), without its message: a page is read once per loop
 * turn, and the runner has the message of a page it just built in memory.
 */
export function firstPendingPage(db: Db, txn: number): PageRow | undefined {
  return stmt(db, FIRST_PENDING_PAGE).get(txn) as PageRow | undefined;
}

/** (txn). `state <> 'sent'` is the condition of the index it reads (bulk_pages_unsent), past the sent pages. */
export const FIRST_PENDING_PAGE = `SELECT txn, page, items, completed, message_id, state, attempts, last_error
  FROM bulk_pages WHERE txn = ? AND state <> 'sent' AND state = 'pending' ORDER BY page LIMIT 1`;

/**
 * How many of the `count` pages right before `page` failed for good (pages go out in order: every page before
 * the first pending one is sent or failed).
 */
export function failedBefore(db: Db, txn: number, page: number, count: number): number {
  return Number((stmt(db, FAILED_BEFORE).get(txn, page - count, page) as { n: number | string }).n);
}

/** (txn, first page, page). */
export const FAILED_BEFORE = `SELECT COUNT(*) AS n FROM bulk_pages
  WHERE txn = ? AND page >= ? AND page < ? AND state = 'failed'`;

/** The stored on-search message of a page (canonical JSON), null once it was sent. */
export function pageMessage(db: Db, txn: number, page: number): string | null {
  const row = stmt(db, PAGE_MESSAGE).get(txn, page) as { message: string | null } | undefined;
  return row?.message ?? null;
}

/** (txn, page). */
export const PAGE_MESSAGE = "SELECT message FROM bulk_pages WHERE txn = ? AND page = ?";

/** A page's delivery attempt (see recordPageAttempt). */
export type PageAttempt = {
  txn: number;
  page: number;
  outcome: "sent" | "failed" | "retry";
  error?: string;
  now: string;
};

/** A delivery attempt of a page ended: sent (its message is dropped), failed for good, or to be retried. */
export function recordPageAttempt(db: Db, p: PageAttempt): void {
  runGuarded(db, pageAttemptWrite(p));
}

/** The steps of recordPageAttempt. */
export function pageAttemptWrite(p: PageAttempt): GuardedWrite {
  const state = p.outcome === "retry" ? "pending" : p.outcome;
  const then: Step[] = p.outcome === "retry" ? [] : [{
    sql:
      "UPDATE bulk_searches SET pages_sent = pages_sent + ?, pages_failed = pages_failed + ? WHERE txn = ?",
    args: [p.outcome === "sent" ? 1 : 0, p.outcome === "failed" ? 1 : 0, p.txn],
  }];
  if (p.outcome === "sent") {
    then.push({
      sql: `UPDATE transactions SET completed_count = completed_count +
        (SELECT items FROM bulk_pages WHERE txn = ? AND page = ?) WHERE id = ?`,
      args: [p.txn, p.page, p.txn],
    });
  }
  return {
    guard: {
      // The outcome is fixed per text (sent drops the message), so no parameter has to be typed by a CASE.
      sql: `UPDATE bulk_pages SET state = ?, attempts = attempts + 1, last_error = ?${
        state === "sent" ? ", message = NULL, sent_at = ?" : ""
      } WHERE txn = ? AND page = ? AND state = 'pending'`,
      args: state === "sent"
        ? [state, p.error ?? null, p.now, p.txn, p.page]
        : [state, p.error ?? null, p.txn, p.page],
    },
    then,
  };
}

/** Extends the lease of a running bulk search (its transaction row), so the sweeper leaves it alone. */
export function renewLease(db: Db, id: number, owner: string, until: string, now: string): boolean {
  return Number(stmt(db, RENEW_LEASE).run(until, now, id, owner).changes) === 1;
}

/** (until, now, id, owner). */
export const RENEW_LEASE =
  "UPDATE transactions SET lease_until = ?, updated_at = ? WHERE id = ? AND lease_owner = ?";

/**
 * How a bulk search ends (see finishBulk); `failed` are the failed pages as listed in its progress (the first
 * PAGES_LISTED), named in the transaction's last_error.
 */
export type BulkEnd = {
  failedPages: number;
  failed?: UndeliveredPage[];
  items: number;
  now: string;
  reason?: string;
  /** Why the run stopped with pages left to send (named after the failed pages in the last_error). */
  stopped?: string;
};

/**
 * Ends a bulk search: every page delivered (callback_sent, succ) or some failed for good (callback_failed), or
 * the run failed (`reason`: callback_failed, rjct). The result column keeps the page summary for operators.
 */
export function finishBulk(db: Db, id: number, owner: string, f: BulkEnd): boolean {
  return Number(stmt(db, FINISH_BULK).run(...finishArgs(id, owner, f)).changes) === 1;
}

/** The end of a bulk search (arguments: finishArgs). */
export const FINISH_BULK = `UPDATE transactions SET state = ?, outcome = ?, status_reason_message = ?,
    total_count = ?, last_error = ?, lease_owner = NULL, lease_until = NULL, processed_at = ?, completed_at = ?,
    updated_at = ?
  WHERE id = ? AND lease_owner = ? AND state = 'processing'`;

/** The arguments of FINISH_BULK. */
export function finishArgs(id: number, owner: string, f: BulkEnd): Array<string | number | null> {
  return [
    f.failedPages > 0 || f.reason ? "callback_failed" : "callback_sent",
    f.reason ? "rjct" : "succ",
    f.reason ?? null,
    f.items,
    f.failedPages > 0
      ? (undeliveredError(f.failedPages, f.failed ?? []) + (f.stopped ? `; ${f.stopped}` : "")).slice(0, 2000)
      : f.stopped ?? null,
    f.now,
    f.now,
    f.now,
    id,
    owner,
  ];
}

/**
 * The transaction's last_error when pages failed for good, naming them (the first PAGES_LISTED) and why:
 * `pages 2, 5 could not be delivered: HTTP 500 from callback URL`.
 */
function undeliveredError(count: number, failed: UndeliveredPage[]): string {
  const listed = failed.filter((p) => p.state === "failed");
  if (listed.length === 0) return `${count} page(s) could not be delivered`;
  const more = count > listed.length ? ` and ${count - listed.length} more` : "";
  const which = `${count === 1 ? "page" : "pages"} ${listed.map((p) => p.page).join(", ")}${more}`;
  const errors = new Set(listed.map((p) => p.last_error ?? "no error recorded"));
  const why = errors.size === 1
    ? [...errors][0]
    : listed.slice(0, 3).map((p) => `page ${p.page}: ${p.last_error ?? "no error recorded"}`).join("; ") +
      (listed.length > 3 ? "; …" : "");
  return `${which} could not be delivered: ${why}`;
}

/** A page not delivered (yet), as operators see it in a bulk search's progress. */
export interface UndeliveredPage {
  page: number;
  /** pending: built, waiting for its (next) delivery attempt; failed: failed for good (`txn retry` sends it again). */
  state: "pending" | "failed";
  attempts: number;
  last_error: string | null;
}

/** The most pages a bulk search's progress lists as not delivered (a run keeps at most two pending at a time). */
export const PAGES_LISTED = 20;

/** A bulk search's progress as operators see it (txn show, the admin API, the console). */
export interface BulkProgress {
  file_name: string;
  file_format: BulkFormat;
  page_size: number;
  items_total: number;
  items_done: number;
  pages_total: number;
  pages_delivered: number;
  pages_failed: number;
  /** The first PAGES_LISTED built pages not delivered: waiting for a delivery attempt, or failed for good. */
  pages_undelivered: UndeliveredPage[];
}

/** The progress of transaction `txn` when it is a bulk search. */
export function bulkProgress(db: Db, txn: number): BulkProgress | undefined {
  const b = getBulk(db, txn);
  return b &&
    progressOf(b, stmt(db, UNDELIVERED_PAGES).all(txn, PAGES_LISTED) as unknown as UndeliveredPage[]);
}

/**
 * How many bulk searches of a sender are open: accepted and not ended (sent, or failed or stopped for good).
 * Read from the bulk searches (one a file, purged with their transactions), not the sender's transactions (every
 * inline request too): `CROSS JOIN` keeps SQLite to that order. (sender_id)
 */
export const OPEN_BULK_OF_SENDER = `SELECT COUNT(*) AS n FROM bulk_searches b CROSS JOIN transactions t
  WHERE t.id = b.txn AND t.sender_id = ? AND t.state NOT IN ('callback_sent', 'callback_failed')`;

/** The number of open bulk searches of `senderId` (OPEN_BULK_OF_SENDER). */
export function openBulkOf(db: Db, senderId: string): number {
  return Number((stmt(db, OPEN_BULK_OF_SENDER).get(senderId) as { n: number }).n);
}

/** The built pages not delivered, in page order (txn, limit). */
export const UNDELIVERED_PAGES = `SELECT page, state, attempts, last_error FROM bulk_pages
  WHERE txn = ? AND state <> 'sent' ORDER BY page LIMIT ?+0`;

/** The progress of a bulk search's row and its pages not delivered (UNDELIVERED_PAGES). */
export function progressOf(b: BulkRow, undelivered: UndeliveredPage[]): BulkProgress {
  return {
    file_name: b.file_name,
    file_format: b.file_format,
    page_size: b.page_size,
    items_total: b.items_total,
    items_done: b.items_done,
    pages_total: b.pages_total,
    pages_delivered: b.pages_sent,
    pages_failed: b.pages_failed,
    // Copied field by field: a row of node:sqlite has a null prototype, and the API answers plain objects.
    pages_undelivered: undelivered.map((p) => ({
      page: Number(p.page),
      state: p.state,
      attempts: Number(p.attempts),
      last_error: p.last_error,
    })),
  };
}

/** The progress in one line: `people.csv (csv): 3000/10000 lookups answered, 2/10 pages delivered`. */
export function bulkProgressLine(p: BulkProgress): string {
  return `${p.file_name} (${p.file_format}): ${p.items_done}/${p.items_total} lookups answered, ` +
    `${p.pages_delivered}/${p.pages_total} pages delivered` +
    (p.pages_failed ? `, ${p.pages_failed} failed` : "");
}

/**
 * After an operator's retry of a failed bulk search (the transaction reopened to succeeded/rejected by `txn retry`):
 * its failed pages are pending again and the run resumes where it stopped, with a fresh attempt count.
 */
export function reopenBulk(db: Db, txn: number, now: string): boolean {
  return runGuarded(db, reopenWrite(txn, now));
}

/** The steps of reopenBulk. */
export function reopenWrite(txn: number, now: string): GuardedWrite {
  return {
    guard: {
      sql: `UPDATE transactions SET state = 'pending', outcome = NULL, status_reason_message = NULL,
        last_error = NULL, process_attempts = 0, updated_at = ? WHERE id = ? AND state IN ('succeeded', 'rejected')`,
      args: [now, txn],
    },
    then: [
      {
        sql: "UPDATE bulk_pages SET state = 'pending', attempts = 0 WHERE txn = ? AND state = 'failed'",
        args: [txn],
      },
      { sql: "UPDATE bulk_searches SET pages_failed = 0 WHERE txn = ?", args: [txn] },
    ],
  };
}

/**
 * Whether the spool file `spool` is still needed: a bulk search with pages left to build reads it (one that
 * failed before its last page too, since an operator's `txn retry` resumes it from there), unless it failed and its
 * sender was deleted (its open work cancelled, and a retry refused: also when the id was registered again since).
 */
export function spoolNeeded(db: Db, spool: string): boolean {
  return stmt(db, SPOOL_NEEDED).get(spool) !== undefined;
}

/**
 * The condition on bulk search `b` under which its spool is still read (spoolNeeded); the PostgreSQL spool sweep
 * (pg_spool_store.ts) applies it to every spool at once.
 */
export const SPOOL_STILL_READ = `b.pages_built < b.pages_total AND NOT EXISTS (SELECT 1 FROM transactions t
  LEFT JOIN senders s ON s.sender_id = t.sender_id
  WHERE t.id = b.txn AND t.state = 'callback_failed' AND (s.sender_id IS NULL OR s.created_at > t.created_at))`;

/** (spool). */
const SPOOL_NEEDED = `SELECT 1 FROM bulk_searches b WHERE b.spool = ? AND ${SPOOL_STILL_READ} LIMIT 1`;
