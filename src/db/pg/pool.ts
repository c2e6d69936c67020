/**
 * Opening a PostgreSQL connection pool with the `pg` driver (chosen over `postgres` for about half its client CPU
 * per query under Deno, and because the Postgres queue libraries build on it; tests/foundation/pg_helper_test.ts). Every pool reads bigint columns as JS numbers, as
 * node:sqlite returns INTEGER columns, and refuses one that a number cannot hold exactly instead of rounding it.
 */
// @ts-types="@types/pg"
import pg from "pg";

/** The pool type the PostgreSQL stores take. */
export type PgPool = pg.Pool;

/** One connection checked out of a pool (a transaction, LISTEN, or a session-level advisory lock). */
export type PgClient = pg.PoolClient;

const INT8_OID = 20;

/** int8 → number, throwing when the value is beyond 2^53 (a silent rounding would corrupt an id). */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return n;
}

const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID && format !== "binary") return parseInt8;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Options of `openPgPool`. */
export interface PgPoolOptions {
  /** Most connections at once (default 10). */
  max?: number;
  /**
   * Called when an idle connection fails (the server restarted, a network cut): the pool drops it and opens
   * another on the next query. Without a listener the driver's "error" event would end the process.
   */
  onIdleError?: (err: Error) => void;
  /** How long a query waits for a free or new connection before failing (default 5,000 ms). */
  connectTimeoutMs?: number;
}

/** A pool for `url` (`postgres://user:password@host:port/db`); nothing connects until the first query. */
export function openPgPool(url: string, options: PgPoolOptions = {}): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    // A database that does not answer fails the request (503, src/db/faults.ts) instead of holding it forever.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    // A connection whose client died inside a transaction gives its locks back.
    idle_in_transaction_session_timeout: 60_000,
  });
  pool.on("error", (err) => options.onIdleError?.(err));
  return pool;
}
