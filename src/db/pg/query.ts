/**
 * The few ways the PostgreSQL stores talk to the database: a query on the pool or on a transaction's client, one
 * row or all rows, the affected row count, a transaction, and chunked deletes. Every query is a constant SQL text
 * with bound values (`$1…$n`), never user input in the text; each text runs as a named prepared statement, so a
 * connection plans it once.
 */
import type { PgClient, PgPool } from "./pool.ts";
import { isReadOnlyServer } from "../faults.ts";
import { deleteChunks } from "../chunks.ts";

/** A pool (autocommit, any connection) or the client of an open transaction. */
export type PgQueryable = PgPool | PgClient;

/** A bound value. */
export type PgValue = string | number | boolean | null | Uint8Array | readonly string[] | readonly number[];

/** Statement names by SQL text: the same text has the same name on every connection until it is renamed. */
const NAMES = new Map<string, string>();
let named = 0;

function nameOf(text: string): string {
  let name = NAMES.get(text);
  if (name === undefined) {
    name = `dci_${named++}`;
    NAMES.set(text, name);
  }
  return name;
}

/**
 * Whether PostgreSQL refused a prepared statement because the table it reads changed shape under it ("cached plan
 * must not change result type": a `SELECT *` or `RETURNING *` prepared before a migration added a column, as
 * another instance's start does during a rolling upgrade). The driver never prepares a name again on that
 * connection, so every later run would fail the same way.
 */
function stalePlan(err: unknown): boolean {
  return (err as { code?: unknown })?.code === "0A000" &&
    /cached plan must not change result type/.test(String((err as Error).message));
}

/** PostgreSQL texts of SQLite-style texts already converted. */
const CONVERTED = new Map<string, string>();

/**
 * The PostgreSQL form of a constant SQL text written with SQLite's positional placeholders: each `?` (and `?+0`,
 * the SQLite planner hint on LIMIT/OFFSET values) outside a quoted literal becomes `$1`, `$2`, … in order. For
 * statements both backends share word for word; anything dialect-specific is written out per backend instead.
 */
export function pgText(sqliteText: string): string {
  let out = CONVERTED.get(sqliteText);
  if (out !== undefined) return out;
  out = pgPlaceholders(sqliteText);
  CONVERTED.set(sqliteText, out);
  return out;
}

/** `pgText` without its cache: for texts built per request (a compiled search), which are not constants. */
export function pgPlaceholders(sqliteText: string): string {
  let n = 0;
  let quoted = false;
  let out = "";
  for (let i = 0; i < sqliteText.length; i++) {
    const ch = sqliteText[i];
    if (ch === "'") quoted = !quoted;
    if (ch === "?" && !quoted) {
      out += `$${++n}`;
      if (sqliteText.startsWith("+0", i + 1)) i += 2;
    } else out += ch;
  }
  if (quoted) throw new Error(`unbalanced quote in SQL text: ${sqliteText}`);
  return out;
}

/** Runs `text` with `values`; returns the rows and the affected row count. */
export async function pgQuery<R = Record<string, unknown>>(
  db: PgQueryable,
  text: string,
  values: readonly PgValue[] = [],
): Promise<{ rows: R[]; rowCount: number }> {
  let r;
  try {
    r = await db.query({ name: nameOf(text), text, values: values as unknown[] });
  } catch (err) {
    if (!stalePlan(err)) throw err;
    // Under a new name every connection prepares the text again. On the pool the query is run again at once (it
    // failed before it ran); in a transaction, which the error aborted, the caller's next attempt gets it.
    NAMES.delete(text);
    if (!("totalCount" in db)) throw err;
    r = await db.query({ name: nameOf(text), text, values: values as unknown[] });
  }
  return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
}

/** The first row of `text`, or undefined. */
export async function pgOne<R = Record<string, unknown>>(
  db: PgQueryable,
  text: string,
  values: readonly PgValue[] = [],
): Promise<R | undefined> {
  return (await pgQuery<R>(db, text, values)).rows[0];
}

/** Every row of `text`. */
export async function pgAll<R = Record<string, unknown>>(
  db: PgQueryable,
  text: string,
  values: readonly PgValue[] = [],
): Promise<R[]> {
  return (await pgQuery<R>(db, text, values)).rows;
}

/** How many rows `text` (an INSERT, UPDATE or DELETE) changed. */
export async function pgRun(db: PgQueryable, text: string, values: readonly PgValue[] = []): Promise<number> {
  return (await pgQuery(db, text, values)).rowCount;
}

/** A connection checked out of a pool (pgCheckout). */
export interface PgCheckedOut {
  client: PgClient;
  /** Gives the connection back to the pool, or discards it: with `err`, or when its connection failed. */
  release(err?: Error): void;
}

/**
 * A connection of `pool` that cannot take the process down when it fails between its queries: the pool listens for
 * "error" on idle connections only, and an "error" event nobody listens to ends the process (a backend terminated,
 * or every backend reset after one crashed, while a transaction waits on other work). The failure is kept instead:
 * the connection's next query fails on its own, and `release` discards it.
 */
export async function pgCheckout(pool: PgPool): Promise<PgCheckedOut> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error) => void (lost ??= err);
  client.on("error", onError);
  return {
    client,
    release(err) {
      client.off("error", onError);
      client.release(err ?? lost);
    },
  };
}

/**
 * Runs `fn` in a transaction on one connection of `pool`: COMMIT when it resolves, ROLLBACK (and rethrow) when it
 * throws. `fn` must issue its queries on the client it is given, never on the pool (that would run outside the
 * transaction). `begin`: the constant text that opens it (its modes and SET LOCALs in the same round trip).
 */
export async function pgTransaction<T>(
  pool: PgPool,
  fn: (client: PgClient) => Promise<T>,
  begin = "BEGIN",
): Promise<T> {
  const { client, release } = await pgCheckout(pool);
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    // A server that takes reads only (a failover's old primary): its connections must not be used again.
    if (isReadOnlyServer(err)) broken = err as Error;
    try {
      await client.query("ROLLBACK");
    } catch (rollbackErr) {
      // The connection itself failed: it must not go back to the pool.
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    release(broken);
  }
}

/**
 * Runs `fn` on one connection of `pool` holding the session-level advisory lock `key` (a number, or a name that
 * PostgreSQL hashes), so `fn` may run several transactions, or none, on that client or on the pool's other
 * connections while it holds the lock; the lock is given back when `fn` ends. `wait: false` does not wait for a
 * lock another session holds: it answers `{ ran: false }` at once. The lock lives as long as the session, so an
 * instance that dies frees it. A connection that fails to take or give back the lock is discarded, never pooled again,
 * as is one lost while `fn` runs (pgCheckout: it idles meanwhile).
 */
export async function pgSessionLock<T>(
  pool: PgPool,
  key: number | string,
  fn: (client: PgClient) => Promise<T>,
  options: { wait?: boolean } = {},
): Promise<{ ran: true; value: T } | { ran: false }> {
  const arg = typeof key === "number" ? "$1" : "hashtext($1)";
  const { client, release } = await pgCheckout(pool);
  let broken: Error | undefined;
  try {
    let got = true;
    try {
      if (options.wait === false) {
        got =
          (await client.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(${arg}) AS got`, [key])).rows[0]
            .got;
      } else await client.query(`SELECT pg_advisory_lock(${arg})`, [key]);
    } catch (err) {
      broken = err as Error; // a lock statement that failed: the connection goes, not back to the pool
      throw err;
    }
    if (!got) return { ran: false };
    try {
      return { ran: true, value: await fn(client) };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${arg})`, [key]).catch((err) => broken = err);
    }
  } finally {
    release(broken);
  }
}

/**
 * Runs `fn` holding the session-level advisory lock `key` (pgSessionLock), taken by trying again every `retryMs`,
 * never by a statement that waits for it: a concurrent index build (CREATE INDEX CONCURRENTLY) waits for every
 * transaction running when it starts, so a statement waiting for a lock that the builder's instance holds and the
 * build would wait for each other until PostgreSQL's deadlock detector cut one.
 */
export async function pgTakeTurns<T>(
  pool: PgPool,
  key: number | string,
  fn: (client: PgClient) => Promise<T>,
  retryMs = 250,
): Promise<T> {
  for (;;) {
    const r = await pgSessionLock(pool, key, fn, { wait: false });
    if (r.ran) return r.value;
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/** `deleteInIdOrder` (src/db/purge.ts) on PostgreSQL. */
export function pgDeleteInIdOrder(
  pool: PgPool,
  text: string,
  values: readonly PgValue[],
  largest = 2000,
): Promise<number> {
  let after = 0;
  return deleteChunks(largest, async (chunk) => {
    const ids = (await pgAll<{ id: number }>(pool, text, [after, ...values, chunk])).map((r) => Number(r.id));
    if (ids.length > 0) after = Math.max(...ids);
    return ids.length;
  });
}

/**
 * Runs `text`, a DELETE of at most a chunk of rows (its last parameter is the chunk size), until it deletes fewer
 * than it was asked to; returns how many rows it deleted. Each run is its own short transaction, sized by the time
 * the previous one took (at most `largest` rows), as `deleteInChunks` on SQLite.
 */
export function pgDeleteInChunks(
  pool: PgPool,
  text: string,
  values: readonly PgValue[],
  largest = 2000,
): Promise<number> {
  return deleteChunks(largest, (chunk) => pgRun(pool, text, [...values, chunk]));
}

/**
 * Drops index `name` when a concurrent build that failed (or was cut by a stop) left it invalid: `IF NOT EXISTS`
 * would take it as built. The name is this code's own (a constant, a profile's index, pg_indexes'), never input.
 */
export async function pgDropInvalidIndex(client: PgClient, name: string): Promise<void> {
  const { rows } = await client.query<{ invalid: boolean }>(
    `SELECT NOT i.indisvalid AS invalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
    [name],
  );
  if (rows[0]?.invalid) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS "${name.replaceAll('"', "")}"`);
}
