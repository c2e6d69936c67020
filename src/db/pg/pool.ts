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

/** The server's TCP keepalives of each connection (user-settable settings, sent at connect). */
const SERVER_KEEPALIVES = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3";

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
    // And the same on the server's side: a session of a host that died or was cut off ends within ~25 s
    // (idle 10 s, then three probes 5 s apart) instead of the OS's ~2 h 11 min, and gives back its session
    // advisory locks (fan-out's turn, an import job's, the start-up section), which the client's keepalive,
    // on the dead host, cannot. Ignored on a Unix-domain socket; an `options` in the URL replaces this one
    // (`options=`, empty, sends none: for a proxy that refuses the start-up parameter).
    options: SERVER_KEEPALIVES,
  });
  pool.on("error", (err) => options.onIdleError?.(err));
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (queryTimeoutMs > 0) watchPool(pool, url, queryTimeoutMs, Math.min(queryTimeoutMs, connectTimeoutMs));
  return pool;
}

/** The socket of a pg connection (pg keeps it there; the driver's own connect timeout destroys it the same way). */
function socketOf(client: pg.ClientBase): { destroy(err?: Error): void } {
  return (client as unknown as { connection: { stream: { destroy(err?: Error): void } } }).connection.stream;
}

/** The server process id of a connection (pg keeps it from the server's BackendKeyData message). */
function pidOf(client: pg.ClientBase): number {
  return (client as unknown as { processID: number | null }).processID ?? 0;
}

/** What the watch knows of one connection: queries sent and not answered, and when it last heard from it. */
interface Watched {
  client: pg.PoolClient;
  pending: number;
  /** When a query last completed, or was sent to the connection while it had none (ms, performance.now()). */
  heardAt: number;
}

/**
 * Watches every connection of `pool`: one with a query unanswered for `ms` is looked up on a new connection
 * (`pg_stat_activity`, within `checkMs`) and dropped when the database does not answer that either (a frozen
 * server), or answers that the connection's backend is gone or runs no query (a connection gone silent on the
 * way, while new ones get through). Dropping destroys the socket, which fails its query and every query queued
 * behind it, as a lost connection does, and the pool discards the client. A query the database is working on
 * (a migration, an index build, a wait for another session's lock) goes on. Neither a timeout the database
 * would enforce nor pg's `query_timeout` (which leaves the connection busy and returns it to the pool) would
 * free the request. One sweep timer per pool, not one per query: the watch costs a query two clock reads.
 */
function watchPool(pool: PgPool, url: string, ms: number, checkMs: number): void {
  const watched = new Map<pg.PoolClient, Watched>();
  let sweeping = false;
  const sweep = async () => {
    const now = performance.now();
    const stuck = [...watched.values()].filter((w) => w.pending > 0 && now - w.heardAt >= ms);
    if (stuck.length === 0 || sweeping) return;
    sweeping = true;
    try {
      const states = await backendStates(url, checkMs, stuck.map((w) => pidOf(w.client)));
      for (const w of stuck) {
        if (w.pending === 0 || w.heardAt > now) continue; // answered while the check ran
        const state = states?.get(pidOf(w.client));
        if (state === "active") {
          w.heardAt = performance.now(); // the database is working on it: look again after another `ms`
          continue;
        }
        // The message src/db/faults.ts knows (a 503).
        socketOf(w.client).destroy(
          new Error(
            states === undefined
              ? `PostgreSQL did not answer within ${ms} ms, nor a new connection`
              : `PostgreSQL did not answer this connection within ${ms} ms (its server process is ${
                state ?? "gone"
              })`,
          ),
        );
        watched.delete(w.client);
      }
    } finally {
      sweeping = false;
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  pool.on("connect", (client) => {
    const w: Watched = { client, pending: 0, heardAt: performance.now() };
    watched.set(client, w);
    watchQueries(w);
    if (timer === undefined) {
      timer = setInterval(() => void sweep(), Math.max(10, Math.min(ms / 4, 5000)));
      Deno.unrefTimer(Number(timer)); // a number in Deno; @types/node's globals type it as an object
    }
  });
  pool.on("remove", (client) => {
    watched.delete(client);
    if (watched.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  });
}

/** Counts `w`'s queries in and out, and notes when each answer comes. */
function watchQueries(w: Watched): void {
  const client = w.client;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const sent = () => {
    if (w.pending++ === 0) w.heardAt = performance.now();
  };
  const done = () => {
    w.pending--;
    w.heardAt = performance.now();
  };
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    // A submittable (pg-cursor, pg-query-stream) reports through its own events: not used here, left alone.
    if (typeof (config as { submit?: unknown } | null)?.submit === "function") {
      return query(config, values, callback);
    }
    if (typeof values === "function") [values, callback] = [undefined, values];
    sent();
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

/**
 * The state (`pg_stat_activity.state`) of each server process in `pids`, asked on a new connection within `ms`
 * (a pid without a row is gone); undefined when the database does not answer. An error it sends (too many
 * connections, starting up) is an answer that says nothing of the pids: every one reads as active. Never rejects.
 */
async function backendStates(
  url: string,
  ms: number,
  pids: number[],
): Promise<Map<number, string> | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: ms });
  client.on("error", () => {}); // a failure reaches connect() or query() below
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("no answer")), ms)
  );
  let answered = false;
  try {
    const { rows } = await Promise.race([
      client.connect().then(() =>
        client.query<{ pid: number; state: string | null }>(
          "SELECT pid, state FROM pg_stat_activity WHERE pid = ANY($1::int[])",
          [pids],
        )
      ),
      late,
    ]);
    answered = true;
    return new Map(rows.map((r) => [r.pid, r.state ?? "unknown"]));
  } catch (err) {
    return err instanceof pg.DatabaseError ? new Map(pids.map((p) => [p, "active"])) : undefined;
  } finally {
    clearTimeout(timer);
    // A database that answered gets a goodbye (not awaited); one that did not would never acknowledge it, and
    // its connection is cut.
    if (answered) void client.end().catch(() => {});
    else socketOf(client).destroy();
  }
}
