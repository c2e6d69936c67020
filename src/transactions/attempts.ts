/**
 * The history of a transaction's callback attempts (table callback_attempts, migration 0022): one row per attempt
 * made, written by the worker in the same write as the state change that follows it, the last
 * CALLBACK_ATTEMPTS_KEPT kept per transaction so a receiver down for days cannot grow it without end.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";

/** How many attempts are kept per transaction; older ones are dropped (and counted as omitted). */
export const CALLBACK_ATTEMPTS_KEPT = 50;

/** The longest error text kept per attempt. */
const MAX_ERROR = 500;

/** One callback attempt as stored and shown. */
export interface CallbackAttempt {
  /** 1, 2, … per transaction, across operator retries. */
  attempt: number;
  started_at: string;
  duration_ms: number;
  url: string;
  /** sent (delivered), retry (another attempt was scheduled), failed (the last one: callback_failed). */
  outcome: "sent" | "retry" | "failed";
  http_status: number | null;
  /** The receiver's ERR code when it answered 2xx with ack_status ERR, or the duplicate code of a delivered attempt. */
  receiver_code: string | null;
  error: string | null;
}

/** What the worker records of an attempt (the number is given by the store). */
export type NewAttempt = Omit<CallbackAttempt, "attempt">;

/**
 * Records one attempt of transaction `txn` (run it inside the caller's write transaction, beside the state change)
 * and drops the ones beyond the bound. Returns the attempt's number.
 */
export function recordAttempt(db: Db, txn: number, a: NewAttempt): number {
  const { attempt } = stmt(db, INSERT_ATTEMPT).get(...attemptArgs(txn, a)) as { attempt: number };
  // Only a transaction past the bound pays for the delete: a first delivery is the one insert.
  if (attempt > CALLBACK_ATTEMPTS_KEPT) stmt(db, DROP_ATTEMPTS).run(txn, attempt - CALLBACK_ATTEMPTS_KEPT);
  return attempt;
}

/** The next attempt of a transaction, numbered after the last (arguments: attemptArgs). */
export const INSERT_ATTEMPT =
  `INSERT INTO callback_attempts (txn, attempt, started_at, duration_ms, url, outcome,
    http_status, receiver_code, error)
  SELECT ?, COALESCE(MAX(attempt), 0) + 1, ?, ?, ?, ?, ?, ?, ? FROM callback_attempts WHERE txn = ?
  RETURNING attempt`;

/** Drops a transaction's attempts up to a number: (txn, attempt). */
export const DROP_ATTEMPTS = "DELETE FROM callback_attempts WHERE txn = ? AND attempt <= ?";

/** The arguments of INSERT_ATTEMPT: the values bounded and the URL without userinfo. */
export function attemptArgs(txn: number, a: NewAttempt): Array<string | number | null> {
  return [
    txn,
    a.started_at,
    Math.max(0, Math.round(a.duration_ms)),
    withoutUserinfo(a.url),
    a.outcome,
    a.http_status,
    a.receiver_code,
    a.error === null ? null : a.error.slice(0, MAX_ERROR),
    txn,
  ];
}

/** The kept attempts of transaction `txn`, oldest first, and how many older ones were dropped. */
export function listAttempts(db: Db, txn: number): { attempts: CallbackAttempt[]; omitted: number } {
  return attemptHistory(stmt(db, LIST_ATTEMPTS).all(txn) as unknown as CallbackAttempt[]);
}

/** A transaction's kept attempts, oldest first: (txn). */
export const LIST_ATTEMPTS =
  `SELECT attempt, started_at, duration_ms, url, outcome, http_status, receiver_code,
    error
  FROM callback_attempts WHERE txn = ? ORDER BY attempt`;

/** The history of the kept `attempts` (oldest first). */
export function attemptHistory(
  attempts: CallbackAttempt[],
): { attempts: CallbackAttempt[]; omitted: number } {
  // Numbers are never reused, so the ones dropped are exactly those below the first kept.
  return { attempts, omitted: attempts.length ? attempts[0].attempt - 1 : 0 };
}

/**
 * The URL without userinfo. Callback URLs with credentials are refused when they are set, so this only guards
 * a row stored before that rule: a credential is never written to the history.
 */
function withoutUserinfo(url: string): string {
  if (!url.includes("@")) return url;
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
