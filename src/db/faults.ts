/**
 * Recognising the storage faults that pass (the write lock held elsewhere, a full disk), and remembering per
 * connection whether its last write failed for lack of space (what `/readyz` reports).
 */
import type { Db } from "./sqlite.ts";

/** SQLite's "database is locked" (SQLITE_BUSY, 5) or "database table is locked" (SQLITE_LOCKED, 6). */
export function isDatabaseBusy(err: unknown): boolean {
  const e = err as { errcode?: unknown; message?: unknown } | null | undefined;
  return e?.errcode === 5 || e?.errcode === 6 || /database (table )?is locked/i.test(String(e?.message));
}

/**
 * SQLite refused a row: a constraint (SQLITE_CONSTRAINT, 19, in any of its extended codes: unique, not null,
 * foreign key, check) or a trigger's `RAISE(ABORT, …)` (SQLITE_CONSTRAINT_TRIGGER, whose message is the trigger's
 * own and need not say "constraint").
 */
export function isSqliteConstraint(err: unknown): boolean {
  const e = err as { errcode?: unknown; message?: unknown } | null | undefined;
  return (typeof e?.errcode === "number" && (e.errcode & 0xff) === 19) ||
    /constraint/i.test(String(e?.message));
}

/**
 * PostgreSQL cannot be reached or refuses work for now: a connection exception (SQLSTATE class 08), the server
 * shutting down or starting (57P01-57P03), too many connections (53300), a deadlock or serialization failure
 * (40P01, 40001: the transaction is redone), a write refused by a server that takes reads only (25006: a standby,
 * or the old primary during a failover while the address still names it), a network error or a name lookup that
 * failed for now (EAI_AGAIN), the pool's wait for a connection timing out, or a query the database left unanswered
 * (src/db/pg/pool.ts `queryTimeoutMs`, or pg's own `query_timeout`).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === "string" ? e.code : "";
  return code.startsWith("08") ||
    ["57P01", "57P02", "57P03", "53300", "40P01", "40001"].includes(code) || isReadOnlyServer(err) ||
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"].includes(
      code,
    ) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|PostgreSQL did not answer|Query read timeout/i
      .test(String(e?.message));
}

/**
 * PostgreSQL refused a write as the server takes reads only (25006): a standby, or the old primary after a failover
 * while the address still names it. Passes once the address names the new primary, but only for new connections:
 * one that met it is never pooled again.
 */
export function isReadOnlyServer(err: unknown): boolean {
  return (err as { code?: unknown } | null | undefined)?.code === "25006";
}

/** SQLite's SQLITE_FULL (13), PostgreSQL's disk_full (53100) or an ENOSPC from the file system (KV, files): the data dir's disk is full. */
export function isStorageFull(err: unknown): boolean {
  const e = err as { errcode?: unknown; message?: unknown } | null | undefined;
  return e?.errcode === 13 || (e as { code?: unknown } | null | undefined)?.code === "53100" ||
    /database or disk is full|no space left on device|os error 28/i.test(String(e?.message));
}

/**
 * A batch of records that does not stage its rows (an import job, a load into a registry that has records) met a
 * bulk load's rows waiting in the stage tables (a `registry import` into an empty registry running, or one cut
 * short): written now, one of its records could take an identifier the load staged, and the load's merge would
 * then fail, leaving the database unable to start. Passes when that load ends (or a start finishes a cut-short one).
 */
export class BulkLoadStaged extends Error {
  static readonly MESSAGE =
    "A bulk registry load is in progress or was cut short: registry writes wait until " +
    "it ends (a cut-short load is finished by the next server start or `registry import`)";
  constructor() {
    super(BulkLoadStaged.MESSAGE);
    this.name = "BulkLoadStaged";
  }
}

/** A fault that goes away by itself (lock released, space freed, the database back): the work is retried, never failed for it. */
export function isTransientStorageFault(err: unknown): boolean {
  return isDatabaseBusy(err) || isStorageFull(err) || isDatabaseUnavailable(err) ||
    err instanceof BulkLoadStaged;
}

/**
 * The log level of a background pass's failure: a database that is busy or out of reach passes by itself (the
 * pass is redone; a PostgreSQL outage would otherwise log an error every 200 ms of it), anything else (a full
 * disk included) needs an operator.
 */
export function faultLevel(err: unknown): "warn" | "error" {
  return isDatabaseBusy(err) || isDatabaseUnavailable(err) ? "warn" : "error";
}

/**
 * How long a connection is reported full after its last write that failed for lack of space, unless one of its
 * writes succeeds first (ms). A readiness probe that takes the instance out also stops the requests whose writes
 * would find the room freed: so the report lapses, the instance is let back in, and a write that still finds the
 * disk full reports it again.
 */
export const FULL_REPORTED_MS = 30_000;

/** Each connection's storage-full report: since when, the error, and its last such failure (performance.now()). */
const fullSince = new WeakMap<Db, { since: string; error: string; lastAt: number }>();

/** Records that a write on `db` failed for lack of space (called with errors that `isStorageFull` accepts). */
export function noteStorageFull(db: Db, err: unknown, nowMs = Date.now()): void {
  const known = fullSince.get(db);
  if (known) return void (known.lastAt = performance.now());
  const message = err instanceof Error ? err.message : String(err);
  fullSince.set(db, {
    since: new Date(nowMs).toISOString(),
    error: message.slice(0, 200),
    lastAt: performance.now(),
  });
}

/** Records that a write on `db` committed: the disk has room again. */
export function noteWriteSucceeded(db: Db): void {
  fullSince.delete(db);
}

/**
 * Since when (and with what error) the writes of `db` have been failing for lack of space; undefined if not, or
 * when none has failed so for FULL_REPORTED_MS (`at`: performance.now()).
 */
export function storageFull(db: Db, at = performance.now()): { since: string; error: string } | undefined {
  const full = fullSince.get(db);
  if (!full) return undefined;
  if (at - full.lastAt > FULL_REPORTED_MS) {
    fullSince.delete(db);
    return undefined;
  }
  return { since: full.since, error: full.error };
}
