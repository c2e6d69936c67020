/**
 * dci-server as a library: a deployment writes its own `main.ts`, imports this module and starts the server with
 * its hooks (src/extensions.ts): an error renderer, extra routes, processors replacing the stock async processing
 * of an action, a notification-field builder and whole extra registries. See examples/custom_main.ts.
 *
 * ```ts
 * import { startServer } from "./src/mod.ts";
 * const server = await startServer({ extensions: { routes: (app) => app.get("/hello", (c) => c.text("hi")) } });
 * ```
 */
import { type Config, loadConfig, processEnv } from "./config.ts";
import { closeDeps, type Deps, openDeps, serverMigration } from "./deps.ts";
import type { Logger } from "./obs/log.ts";
import { startServer as serveHttp } from "./server.ts";
import { runStartupTasks } from "./startup.ts";
import { type Background, startBackground } from "./jobs/background.ts";
import { guardStrayConnectionResets } from "./net/stray_resets.ts";
import { assertBackupDirWritable } from "./jobs/backup_schedule.ts";
import { assertPortFree } from "./net/port_guard.ts";
import { holdServeLock } from "./db/data_dir_lock.ts";
import { servedRegistries } from "./actions/registries.ts";
import { profileOf, registerProfile } from "./registries/index.ts";
import type { Extensions } from "./extensions.ts";
import { loadTlsPair } from "./net/tls.ts";

export type {
  ErrorRenderer,
  Extensions,
  NotificationContext,
  NotificationFieldBuilder,
  RouteInstaller,
} from "./extensions.ts";
export type { ProcessInput, Processor, ProcessResult } from "./dci/processor.ts";
export type { ProfileAction, RegistryProfile } from "./registries/profile.ts";
export type { AppEnv } from "./http/context.ts";
export type { Config } from "./config.ts";
export type { Deps } from "./deps.ts";
export { PROCESSORS } from "./actions/processors.ts";
export { DciError } from "./dci/errors.ts";
export { errAck } from "./http/errors.ts";
// `loadConfig(flags, await processEnv())` reads settings as `dci-server serve` does (the env file under the real
// environment); `loadConfig()` alone reads the process environment only.
export { loadConfig, processEnv } from "./config.ts";

/** How to start: the configuration (default: the environment, as `dci-server serve` reads it) and the hooks. */
export interface StartOptions {
  config?: Config;
  extensions?: Extensions;
  log?: Logger;
}

/** A running server started by `startServer`. */
export interface DciServer {
  port: number;
  hostname: string;
  url: string;
  /** The opened dependencies (database, keys, queue, ...), e.g. for a deployment's own start-up work. */
  deps: Deps;
  /**
   * Resolves when the HTTP server has stopped (after `stop`); rejects when it stopped on its own because it can no
   * longer serve (a listener lost and not re-bound): the caller should then `stop` and exit non-zero, as `serve`
   * does.
   */
  finished: Promise<void>;
  /** Stops taking requests, drains in-flight ones within DCI_SHUTDOWN_TIMEOUT_MS, stops the worker, closes. */
  stop(): Promise<void>;
  /** With DCI_TLS_CERT/KEY: re-reads and checks the pair, then serves new connections with it (throws if bad). */
  reloadTls?(): Promise<void>;
}

/**
 * Starts the server as `dci-server serve` does (migrations, keys, demo seed, worker and cron per DCI_WORKER),
 * with the deployment's hooks. HTTP is served in this isolate: hooks are functions, which cannot be sent to HTTP
 * isolates, so DCI_HTTP_ISOLATES does not apply. Signals are the caller's to handle (call `stop`).
 */
export async function startServer(options: StartOptions = {}): Promise<DciServer> {
  const config = options.config ?? loadConfig({}, await processEnv());
  // Refused before anything is opened: unknown registries, a default not served, a taken port.
  servedRegistries(config, options.extensions?.registries);
  assertPortFree(config.host, config.port);
  // Extra registries are registered like the built-in ones, so storage, search, import and events know them.
  for (const profile of options.extensions?.registries ?? []) {
    if (profileOf(profile.name) !== profile) registerProfile(profile);
  }
  // As serve: a backup dir DCI_BACKUP_CRON cannot write stops the start, not every night's backup.
  await assertBackupDirWritable(config);
  // Held while serving, as `dci-server serve` holds it, so that `restore` refuses to replace the database.
  if (config.dataDir !== ":memory:") await Deno.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = config.dataDir === ":memory:"
    ? undefined
    : holdServeLock(config.dataDir, { worker: config.worker && !config.databaseUrl });
  let deps: Deps;
  try {
    deps = await openDeps(config, {
      extensions: options.extensions,
      log: options.log,
      migrateOnOpen: serverMigration(config),
    });
  } catch (err) {
    lock?.release();
    throw err;
  }
  // Hooks of the async work given to a process that runs none: another process's worker does it, without them.
  const workerHooks = (["processors", "notificationFields"] as const).filter((k) =>
    options.extensions?.[k] !== undefined
  );
  if (!config.worker && workerHooks.length > 0) {
    deps.log.warn("DCI_WORKER=false: this process runs no async work, so these hooks are not used", {
      hooks: workerHooks,
    });
  }
  // As serve: a connection reset the HTTP client raises outside its request is logged, and never ends the process.
  const unguard = guardStrayConnectionResets(deps.log);
  let background: Background | undefined;
  try {
    await runStartupTasks(deps);
    // A bad certificate file throws here, naming the file, before anything runs or listens.
    const tls = config.tlsCert ? await loadTlsPair(config.tlsCert, config.tlsKey) : undefined;
    background = config.worker ? startBackground(deps) : undefined;
    const server = serveHttp(deps, { tls });
    let stopping: Promise<void> | undefined;
    return {
      port: server.port,
      hostname: server.hostname,
      url: `${tls ? "https" : "http"}://${
        server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname
      }:${server.port}`,
      deps,
      finished: server.finished,
      reloadTls: server.reloadTls &&
        (async () => await server.reloadTls!(await loadTlsPair(config.tlsCert, config.tlsKey))),
      stop: () =>
        stopping ??= (async () => {
          await server.shutdown();
          await background?.stop();
          await closeDeps(deps);
          unguard();
          lock?.release();
        })(),
    };
  } catch (err) {
    // A start that failed after the worker started (a `routes` hook that throws, a metrics port taken).
    await background?.stop();
    await closeDeps(deps);
    unguard();
    lock?.release();
    throw err;
  }
}
