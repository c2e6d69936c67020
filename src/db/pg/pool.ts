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
  /**
   * How long a query may go unanswered before the database is asked, on a new connection, whether it still
   * answers (default 30,000 ms; 0: never). When it does not answer that either (within this time, at most
   * `connectTimeoutMs`), the query fails (a 503, src/db/faults.ts) and its connection is dropped; a query the
   * database is still working on (a migration, an index build, a wait for another session's lock) goes on.
   */
  queryTimeoutMs?: number;
}

/** `queryTimeoutMs` unless given: a stall of a database that accepts TCP but answers nothing ends after it. */
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/** A pool for `url` (`postgres://user:password@host:port/db`); nothing connects until the first query. */
export function openPgPool(url: string, options: PgPoolOptions = {}): PgPool {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    // A database that does not answer fails the request (503, src/db/faults.ts) instead of holding it forever.
    connectionTimeoutMillis: connectTimeoutMs,
    // A connection whose client died inside a transaction gives its locks back.
    idle_in_transaction_session_timeout: 60_000,
    // A peer gone without a word (a host down, a cut network) fails the connection instead of leaving it open.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on("error", (err) => options.onIdleError?.(err));
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (queryTimeoutMs > 0) {
    // One check at a time, whatever the number of queries waiting: they all wait for the same database.
    let checking: Promise<boolean> | undefined;
    const answers = () =>
      checking ??= databaseAnswers(url, Math.min(queryTimeoutMs, connectTimeoutMs))
        .finally(() => checking = undefined);
    pool.on("connect", (client) => watchQueries(client, queryTimeoutMs, answers));
  }
  return pool;
}

/** The socket of a pg connection (pg keeps it there; the driver's own connect timeout destroys it the same way). */
function socketOf(client: pg.ClientBase): { destroy(err?: Error): void } {
  return (client as unknown as { connection: { stream: { destroy(err?: Error): void } } }).connection.stream;
}

/**
 * Watches every query of `client`: one unanswered after `ms`, while `answers()` finds the database silent too,
 * fails and drops the connection (destroying the socket fails the query and every query queued behind it with
 * that error, as a lost connection does, and the pool discards the client). Neither a timeout the database would
 * enforce (it is not answering) nor pg's `query_timeout` (which leaves the connection busy with the query and
 * returns it to the pool) would free the request.
 */
function watchQueries(client: pg.PoolClient, ms: number, answers: () => Promise<boolean>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // The message src/db/faults.ts knows (a 503); every query of the connection fails with it.
  const drop = () =>
    socketOf(client).destroy(new Error(`PostgreSQL did not answer within ${ms} ms, nor a new connection`));
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    // A submittable (pg-cursor, pg-query-stream) reports through its own events: not used here, left alone.
    if (typeof (config as { submit?: unknown } | null)?.submit === "function") {
      return query(config, values, callback);
    }
    if (typeof values === "function") [values, callback] = [undefined, values];
    const done = watchOne(ms, answers, drop);
    if (typeof callback === "function") {
      return query(config, values, (err: unknown, res: unknown) => {
        done();
        (callback as (err: unknown, res: unknown) => void)(err, res);
      });
    }
    const result = query(config, values) as Promise<unknown>;
    result.then(done, done);
    return result;
  }) as typeof client.query;
}

/** Calls `fail` once a query has run `ms` with `answers()` false at the end of it; the returned function ends the watch. */
function watchOne(ms: number, answers: () => Promise<boolean>, fail: () => void): () => void {
  let done = false;
  const check = async () => {
    if (done) return;
    const alive = await answers();
    if (done) return;
    if (alive) timer = setTimeout(check, ms); // still working on it: an index build, a lock wait
    else fail();
  };
  let timer = setTimeout(check, ms);
  return () => {
    done = true;
    clearTimeout(timer);
  };
}

/**
 * Whether the database at `url` answers a new connection and `SELECT 1` within `ms`; an error it sends (too many
 * connections, starting up) is an answer too. Never rejects.
 */
async function databaseAnswers(url: string, ms: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: ms });
  client.on("error", () => {}); // a failure reaches connect() or query() below
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("no answer")), ms)
  );
  try {
    await Promise.race([client.connect().then(() => client.query("SELECT 1")), late]);
    return true;
  } catch (err) {
    return err instanceof pg.DatabaseError;
  } finally {
    clearTimeout(timer);
    // Not end(): a database that does not answer would never acknowledge the goodbye.
    socketOf(client).destroy();
  }
}
