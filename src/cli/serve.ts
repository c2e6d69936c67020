/**
 * `dci-server serve`: open everything, listen, and shut down cleanly on SIGINT/SIGTERM. The main isolate
 * migrates, creates keys and runs the start-up tasks, then serves HTTP itself (DCI_HTTP_ISOLATES=0) or starts
 * N HTTP isolates on the shared port; the queue worker, notifier, sweeper and cron run here (DCI_WORKER) and
 * never in an HTTP isolate.
 */
import { CliFailure, type Command } from "./cli.ts";
import { closeDeps, type Deps, openDeps, serverMigration } from "../deps.ts";
import { flushLogBuffer } from "../obs/log_buffer.ts";
import type { RunningServer } from "../server.ts";
import { runStartupTasks } from "../startup.ts";
import { guardStrayConnectionResets } from "../net/stray_resets.ts";
import { type Background, BackgroundStartError, startBackground } from "../jobs/background.ts";
import { newBusName, type ProcessBus } from "../jobs/bus.ts";
import { startHttpIsolates } from "../http_isolates.ts";
import { dropPreloaded, holdSighup, type SighupHold } from "../http_isolate_preload.ts";
import { assertPortFree } from "../net/port_guard.ts";
import { servedRegistries } from "../actions/registries.ts";
import {
  DataDirBusyError,
  type DataDirLock,
  holdServeLock,
  WorkerLockError,
  workerRunning,
} from "../db/data_dir_lock.ts";
import { loadTlsPair, TlsFileError, type TlsPair } from "../net/tls.ts";
import type { Config } from "../config.ts";
import { assertBackupDirWritable, BackupDirError } from "../jobs/backup_schedule.ts";

/** The serve command (the default). */
export const serveCommand: Command = {
  summary: "Run the DCI API server (default command)",
  examples: ["serve", "serve --port 8080 --data-dir /var/lib/dci", "--port 8080"],
  json: false,
  async run({ config }) {
    // A SIGHUP before the server listens is noted, and the reload it asked for runs once the server is up (held
    // since main.ts's first line when it saw this command line serve: holdSighup).
    const hupWhileStarting = holdSighup();
    try {
      return await serve(config, hupWhileStarting);
    } finally {
      hupWhileStarting.release();
    }
  },
};

/** Serves until stopped; `hup` is the SIGHUP noted while starting, replaced by the reload once up. */
async function serve(
  config: () => Config,
  hup: SighupHold,
): Promise<number> {
  const cfg = config();
  // Unknown registries in DCI_REGISTRIES, or a default not served, are refused before anything is opened.
  servedRegistries(cfg);
  // Refuse a taken port before touching the data dir (the first bind probes again, as it binds).
  assertPortFree(cfg.host, cfg.port);
  // An unreadable or mismatched certificate stops the start before the data dir is touched.
  const tls = await readTls(cfg);
  await checkBackupDir(cfg);
  // Held while serving, so that `restore` refuses to replace the database under this server.
  const lock = await holdDataDir(cfg.dataDir, cfg.worker && !cfg.databaseUrl);
  let deps: Deps;
  try {
    // With HTTP isolates the main isolate joins the process bus: their wake-ups reach this queue's worker.
    // An in-memory database is this isolate's alone (an HTTP isolate would open an empty one of its own): served
    // here, whatever DCI_HTTP_ISOLATES says.
    const bus = cfg.httpIsolates > 0 && cfg.dataDir !== ":memory:"
      ? { name: newBusName(), isolate: "main", isolates: cfg.httpIsolates + 1, workerOnBus: false }
      : undefined;
    deps = await openDeps(cfg, { bus, migrateOnOpen: serverMigration(cfg) });
  } catch (err) {
    lock?.release();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const unguard = guardStrayConnectionResets(deps.log);
  // SIGINT and SIGTERM are taken from before the server listens (until then, during start-up tasks such as a
  // demo seed, they end the process as they always do): one that comes between "listening" and the end of the
  // start (a supervisor stopping the server as soon as it says it listens) stops it once it is up, cleanly.
  let requested: string | undefined;
  let stop = (signal: string) => {
    // A second signal while the server still starts (an HTTP isolate that never comes up) ends the process now.
    if (requested) Deno.exit(signal === "SIGINT" ? 130 : 143);
    requested = signal;
    deps.log.warn(
      "stop requested while the server starts: it stops once up (a second signal ends it now)",
      {
        signal,
      },
    );
  };
  const handlers: Array<readonly [Deno.Signal, () => void]> = (["SIGINT", "SIGTERM"] as const).map((s) =>
    [s, () => stop(s)] as const
  );
  let background: Background | undefined;
  try {
    await runStartupTasks(deps);
    warnWithoutWorker(deps);
    if (!deps.bus) dropPreloaded(); // this config serves in the main isolate
    // The worker listens before any HTTP isolate accepts, so no wake-up finds it missing.
    background = cfg.worker ? await startWorker(deps) : undefined;
    for (const [s, h] of handlers) Deno.addSignalListener(s, h);
    const server: RunningServer & { failed?: Promise<string> } = deps.bus
      ? await serveInIsolates(deps, deps.bus, tls)
      : (await serverModule()).startServer(deps, { tls });
    if (tls) deps.log.info("tls certificate", tlsFields(tls));
    const failed = server.failed ?? new Promise<string>(() => {});
    let code = 0;
    stop = (signal: string) => {
      stopping ??= (async () => {
        deps.log.info("shutting down", { signal, bound_ms: cfg.shutdownTimeoutMs });
        await server.shutdown();
        await background?.stop();
        await closeDeps(deps);
        lock?.release();
        deps.log.info("stopped");
      })();
    };
    if (requested) stop(requested);
    // SIGHUP re-reads the certificate and key (Windows has no SIGHUP).
    const reload = Deno.build.os === "windows" ? undefined : tlsReloader(deps, server);
    if (reload) {
      Deno.addSignalListener("SIGHUP", reload);
      Deno.removeSignalListener("SIGHUP", hup.listener);
      if (hup.seen) {
        deps.log.info("SIGHUP received while the server started: reloading now");
        reload();
      }
    }
    // The server ends by itself only when it can no longer serve (a listener lost for good, an isolate that
    // died): a failure, so that a supervisor restarts it (the systemd unit restarts on failure only).
    const failure = (reason: string) => {
      code = 1;
      stop(reason);
    };
    const ended = () => {
      if (stopping) return;
      deps.log.error("HTTP server stopped by itself");
      failure("server stopped");
    };
    const lost = (err: unknown) => {
      deps.log.error("HTTP listener lost", { err });
      failure("listener lost");
    };
    await Promise.race([server.finished.then(ended, lost), failed.then(() => failure("isolate failure"))]);
    await stopping;
    if (reload) Deno.removeSignalListener("SIGHUP", reload);
    return code;
  } finally {
    // A listener never added (the start failed before) is removed as a no-op.
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    if (!stopping) {
      // A start that failed after the worker started (a metrics port taken): it must not run on closed storage.
      await background?.stop();
      await closeDeps(deps);
      lock?.release();
    }
    unguard();
  }
}

/** startBackground; after a failed start, what it had started has stopped before the deps are closed. */
async function startWorker(deps: Deps): Promise<Background> {
  try {
    return startBackground(deps);
  } catch (err) {
    if (!(err instanceof BackgroundStartError)) throw err;
    await err.stopped;
    throw err.cause;
  }
}

/**
 * Takes the data dir's serve lock, and with `worker` (the worker on SQLite) the worker's (none for an in-memory
 * database); refused while a restore holds it, or another server runs the worker there.
 */
async function holdDataDir(dataDir: string, worker: boolean): Promise<DataDirLock | undefined> {
  if (dataDir === ":memory:") return undefined;
  // A data dir that cannot be created is reported by openDeps, which names the cause.
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 }).catch(() => {});
  try {
    return holdServeLock(dataDir, { worker });
  } catch (err) {
    if (err instanceof DataDirBusyError || err instanceof WorkerLockError) throw new CliFailure(err.message);
    // Not fatal here: openDeps reports an unusable data dir with its cause.
    return undefined;
  }
}

/**
 * The HTTP server's module, loaded only where this isolate serves HTTP itself (DCI_HTTP_ISOLATES=0): the app
 * (routes, schemas, console) is ~60 % of the module graph's load time, and with HTTP isolates only they need it.
 */
function serverModule(): Promise<typeof import("../server.ts")> {
  return import("../server.ts");
}

/** Starts the HTTP isolates and logs the one "listening" line once all of them listen. */
async function serveInIsolates(
  deps: Deps,
  bus: ProcessBus,
  tls: TlsPair | undefined,
): Promise<RunningServer & { failed: Promise<string> }> {
  const count = deps.config.httpIsolates;
  const server = await startHttpIsolates(deps, {
    count,
    bus: bus.name,
    workerOnBus: deps.config.worker,
    tls,
  });
  const { port, hostname } = server;
  const url = `${tls ? "https" : "http"}://${hostname}:${port}`;
  deps.log.info("listening", { port, hostname, url, http_isolates: count });
  flushLogBuffer(); // readiness is read from this line: it does not wait for its batch
  return server;
}

/**
 * A server started with DCI_WORKER=false says what it leaves to another: on SQLite, when no server runs the worker
 * on its data dir now, that the async requests it accepts wait (nothing processes them until one starts); and that
 * DCI_BACKUP_CRON, which only a worker runs, does nothing here.
 */
function warnWithoutWorker(deps: Deps): void {
  const cfg = deps.config;
  if (cfg.worker) return;
  if (!cfg.databaseUrl && cfg.dataDir !== ":memory:" && !workerRunning(cfg.dataDir)) {
    deps.log.warn(
      "DCI_WORKER=false and no server runs the worker on this data dir: async requests are accepted and wait " +
        "until one starts (start a server with the worker on it)",
      { data_dir: cfg.dataDir },
    );
  }
  if (cfg.backupCron) {
    deps.log.warn(
      "DCI_BACKUP_CRON does nothing on a server started with DCI_WORKER=false: the worker runs it",
    );
  }
}

/** The backup dir check (src/jobs/backup_schedule.ts) as a start failure with exit 2. */
async function checkBackupDir(cfg: Config): Promise<void> {
  try {
    await assertBackupDirWritable(cfg);
  } catch (err) {
    if (err instanceof BackupDirError) throw new CliFailure(err.message, 2);
    throw err;
  }
}

/** The TLS pair of DCI_TLS_CERT / DCI_TLS_KEY, or undefined for plain HTTP; a bad file is a start failure. */
async function readTls(cfg: Config): Promise<TlsPair | undefined> {
  if (!cfg.tlsCert) return undefined;
  try {
    return await loadTlsPair(cfg.tlsCert, cfg.tlsKey);
  } catch (err) {
    if (err instanceof TlsFileError) throw new CliFailure(err.message);
    throw err;
  }
}

/**
 * The SIGHUP handler: re-read and check the pair, then serve new connections with it. A pair that fails the
 * check is logged and the old one keeps serving; reloads run one at a time.
 */
function tlsReloader(deps: Deps, server: RunningServer): () => void {
  let running = Promise.resolve();
  const reload = async () => {
    const cfg = deps.config;
    if (!cfg.tlsCert || !server.reloadTls) {
      deps.log.info("SIGHUP: no TLS configured, nothing to reload");
      return;
    }
    let tls: TlsPair;
    try {
      tls = await loadTlsPair(cfg.tlsCert, cfg.tlsKey);
    } catch (err) {
      deps.log.error("tls reload refused; the previous certificate keeps serving", {
        reason: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    await server.reloadTls(tls);
    deps.log.info("tls certificate reloaded", tlsFields(tls));
  };
  return () => {
    running = running.then(reload).catch((err) =>
      deps.log.error("tls reload failed; the previous certificate keeps serving", {
        reason: err instanceof Error ? err.message : String(err),
      })
    );
  };
}

/** Log fields naming a certificate (never the key). */
function tlsFields(tls: TlsPair): Record<string, string> {
  return { subject: tls.subject, serial: tls.serial, not_after: tls.notAfter };
}
