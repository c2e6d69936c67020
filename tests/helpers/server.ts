/** Starts the real server (`main.ts serve`) as a subprocess on a free loopback port, for end-to-end tests. */
import { LOOPBACK_ONLY, RUN_FLAGS } from "./runtime.ts";
import { insideLoopbackNetns } from "./no_egress.ts";
import { specFetch } from "./spec_hooks.ts";
import { freshPgDatabase, pgRawSql, type RawSql, sqliteRawSql, TEST_BACKEND } from "./storage.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import type { PgValue } from "../../src/db/pg/query.ts";

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("main.ts", ROOT).pathname;

/**
 * On the PostgreSQL pass (DCI_TEST_BACKEND=postgres) a data dir stands for a database: the first server or CLI
 * process given a data dir gets a fresh database of the shared test cluster, and every later one given the same
 * data dir the same database (DCI_DATABASE_URL), unless the test set DCI_DATABASE_URL itself. On SQLite: nothing.
 */
export async function backendEnv(
  env: Record<string, string>,
  dataDir: string | undefined,
): Promise<Record<string, string>> {
  if (TEST_BACKEND !== "postgres" || env.DCI_DATABASE_URL !== undefined || dataDir === undefined) return env;
  return { ...env, DCI_DATABASE_URL: (await dataDirDatabaseUrl(dataDir))! };
}

/** On the PostgreSQL pass, the URL of the database that stands for `dataDir` (see backendEnv); on SQLite, undefined. */
export async function dataDirDatabaseUrl(dataDir: string): Promise<string | undefined> {
  if (TEST_BACKEND !== "postgres") return undefined;
  const key = await Deno.realPath(dataDir).catch(() => dataDir);
  let url = databases.get(key);
  if (!url) databases.set(key, url = freshPgDatabase());
  return await url;
}

const databases = new Map<string, Promise<string>>();

/**
 * The database that server and CLI processes given `dataDir` use, for a test to write fixtures before them or look
 * behind them: the data dir's SQLite file, or on the PostgreSQL pass the database standing for the data dir.
 */
export async function dataDirDatabase(
  dataDir: string,
): Promise<{ storage: Storage; sql: RawSql; databaseUrl?: string; close(): Promise<void> }> {
  const url = await dataDirDatabaseUrl(dataDir);
  if (url) {
    const pool = openPgPool(url, { max: 2 });
    return {
      storage: pgStorage(pool),
      sql: pgRawSql(pool),
      databaseUrl: url,
      close: () => pool.end(),
    };
  }
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  return {
    storage: sqliteStorage(db, dataDir),
    sql: sqliteRawSql(db),
    close: () => Promise.resolve(db.close()),
  };
}

/** One statement in SQLite's dialect with `?` placeholders on `dataDir`'s database (dataDirDatabase); the rows. */
export async function dataDirSql(
  dataDir: string,
  text: string,
  values: PgValue[] = [],
): Promise<Record<string, unknown>[]> {
  const database = await dataDirDatabase(dataDir);
  try {
    return await database.sql(text, values);
  } finally {
    await database.close();
  }
}

/** The data dir a CLI invocation names (`--data-dir DIR` or DCI_DATA_DIR). */
function cliDataDir(args: string[], env: Record<string, string>): string | undefined {
  const i = args.indexOf("--data-dir");
  return i >= 0 ? args[i + 1] : env.DCI_DATA_DIR;
}

/** A running server subprocess. */
export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  /** Every stdout log line parsed so far. */
  logs: Record<string, unknown>[];
  /** What the process wrote to stderr so far (an uncaught error's report goes there, not to the log). */
  stderr(): string;
  /** Sends a signal and waits for the exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Sends a signal without waiting (e.g. SIGHUP, which the server answers by reloading its certificate). */
  signal(signal: Deno.Signal): void;
  /** Waits for the process to exit by itself. */
  exited: Promise<Deno.CommandStatus>;
  /** Resolves with the first log line matching `pred` (or rejects after `ms`). */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

/** Runs `main.ts` with `args` and returns its exit code and output. */
export async function runCliProcess(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, MAIN, ...args],
    env: { DCI_LOG_LEVEL: "error", ...await backendEnv(env, cliDataDir(args, env)) },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Options of `startServerProcess`. */
export interface ServerOptions {
  env?: Record<string, string>;
  dataDir?: string;
  args?: string[];
  denoFlags?: string[];
  /**
   * Network permission: "loopback" (default, LOOPBACK_ONLY) or "all", only for a server that runs inside a
   * loopback-only network namespace (tests/helpers/no_egress.ts), where the kernel is what keeps it on the machine.
   */
  net?: "loopback" | "all";
  /** The program to run instead of `main.ts serve` (a deployment's own main, e.g. examples/custom_main.ts). */
  entry?: string;
  /** Run the server with this many file descriptors at most (`ulimit -n`, soft and hard), to starve it. */
  nofile?: number;
}

/** `cmd` with `args`, run under `ulimit -n nofile` when a limit is given (through sh, which then execs it). */
function limited(cmd: string, args: string[], nofile?: number): { cmd: string; args: string[] } {
  if (nofile === undefined) return { cmd, args };
  return { cmd: "sh", args: ["-c", `ulimit -n ${Math.trunc(nofile)} && exec "$0" "$@"`, cmd, ...args] };
}

/** Starts `main.ts serve` on port 0 with a fresh (or given) data dir and waits until it listens. */
export async function startServerProcess(options: ServerOptions = {}): Promise<ServerProcess> {
  if (options.net === "all" && !insideLoopbackNetns()) {
    throw new Error("a server with full network permission runs only inside a loopback-only namespace");
  }
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "dci-e2e-" });
  const program = limited(Deno.execPath(), [
    "run",
    ...(options.net === "all" ? ["--allow-all"] : LOOPBACK_ONLY),
    ...RUN_FLAGS,
    ...(options.denoFlags ?? []),
    ...(options.entry ? [options.entry] : [MAIN, "serve"]),
    ...(options.args ?? []),
  ], options.nofile);
  const cmd = new Deno.Command(program.cmd, {
    args: program.args,
    env: {
      DCI_PORT: "0",
      DCI_HOST: "127.0.0.1",
      DCI_DATA_DIR: dataDir,
      DCI_LOG_LEVEL: "info",
      DCI_SEED_DEMO: "false",
      ...await backendEnv(options.env ?? {}, options.env?.DCI_DATA_DIR ?? dataDir),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  const logs: Record<string, unknown>[] = [];
  const waiters: Array<
    { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }
  > = [];
  let stderr = "";
  const pump = (async () => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const entry = JSON.parse(line);
          logs.push(entry);
          for (const w of [...waiters]) {
            if (w.pred(entry)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(entry);
            }
          }
        } catch { /* not a log line */ }
      }
    }
  })();
  const errPump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const exited = child.status.then(async (s) => {
    await pump.catch(() => {});
    await errPump.catch(() => {});
    return s;
  });
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, ms = 20_000) => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`log line not seen within ${ms} ms; stderr: ${stderr}`)),
        ms,
      );
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };
  const listening = await Promise.race([
    waitForLog((l) => l.msg === "listening", 30_000),
    exited.then((s) => {
      throw new Error(`server exited with ${s.code} before listening: ${stderr}`);
    }),
  ]);
  const port = Number(listening.port);
  let stopped: Promise<number> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog,
    signal: (signal: Deno.Signal) => child.kill(signal),
    stop: (signal: Deno.Signal = "SIGTERM") => {
      stopped ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        return (await exited).code;
      })();
      return stopped;
    },
  };
}

/** POSTs JSON and returns status, headers and parsed body (a DCI answer checked against the spec). */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await specFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/**
 * A JSON body (`{"pad":"xx"}`) whose first part is sent at once and whose rest waits for `end()`: a request that
 * stays in flight as long as the test needs (untilInFlight tells when the server has it).
 */
export function heldBody(): { body: ReadableStream<Uint8Array>; end(): void } {
  const enc = new TextEncoder();
  let pulls = 0;
  let end!: () => void;
  const ended = new Promise<void>((r) => end = r);
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (++pulls === 1) return ctl.enqueue(enc.encode('{"pad":"x'));
      await ended;
      ctl.enqueue(enc.encode('x"}'));
      ctl.close();
    },
  });
  return { body, end };
}

/**
 * Waits until the server's `/metrics` shows `n` requests in flight besides the scrape itself (every isolate's,
 * summed): a held request has reached the server. Throws after 20 s.
 */
export async function untilInFlight(
  url: string,
  n: number,
  init: RequestInit & { client?: Deno.HttpClient } = {},
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = await fetch(`${url}/metrics`, init).then((r) => r.text()).catch(() => "");
    const found = /^dci_http_requests_in_flight (\d+)$/m.exec(text);
    if (found && Number(found[1]) - 1 >= n) return;
    if (Date.now() > deadline) throw new Error(`not ${n} request(s) in flight within 20 s (${found?.[0]})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The first 503 of `/healthz` once a server stopping is draining (probes answered 200 before the stop reached it
 * are read and dropped); throws after 20 s.
 */
export async function drainingAnswer(
  url: string,
  headers: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; headers: Headers; body: any }> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    // A connection the stop cuts (a listener closing as it drains) is one more probe, not a failure.
    const r = await fetch(`${url}/healthz`, { headers: { connection: "close", ...headers } }).catch(() =>
      undefined
    );
    if (r?.status === 503) return { status: r.status, headers: r.headers, body: await r.json() };
    await r?.body?.cancel();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the server never answered 503 while draining");
}
