/**
 * HTTP isolates started before the server needs them. Loading an isolate's module graph (the app: routes,
 * schemas, console; about 0.6 s of a 0.9 s cold start from source) needs nothing the main isolate opens, so
 * main.ts starts the isolates first thing when its command line serves (`serve`, or flags only), and they load
 * while the main isolate loads its own graph, opens the database and runs the start-up tasks. startHttpIsolates
 * then takes them in place of new ones (their "start" message brings the config). Those not taken (the config
 * serves in the main isolate or asks for fewer) are ended by `dropPreloaded`.
 *
 * This module imports nothing, so main.ts can run it before anything else loads.
 */

interface Preloaded {
  worker: Worker;
  /** Set when the isolate's module failed to load: the one started in its place reports the failure. */
  failed?: string;
}

/** Preloaded isolates by number (http-1 is [0]). */
const preloaded: Array<Preloaded | undefined> = [];

/** A new HTTP isolate numbered `n` (named `http-n`). */
export function newHttpIsolate(n: number): Worker {
  return new Worker(new URL("./http_isolate.ts", import.meta.url), { type: "module", name: `http-${n}` });
}

/**
 * Whether `argv` runs `serve` and is no help request, by the CLI's rule read cheaply (this module must not load the
 * CLI's): settings flags first (`--data-dir D`, `--port=8080`) are skipped, then no word left or `serve` serves,
 * and a command (`--data-dir D keys list`, the systemd form of every CLI command) does not. A misreading costs
 * only the head start: serve starts or drops isolates to its configured count.
 */
export function serves(argv: readonly string[]): boolean {
  if (argv.includes("--help") || argv.includes("-h") || argv.includes("--version")) return false;
  let i = 0;
  while (i < argv.length && argv[i].startsWith("--")) i += argv[i].includes("=") ? 1 : 2;
  const word = argv[i];
  return word === undefined || word === "serve";
}

/**
 * Starts the HTTP isolates `argv` and the environment ask for (DCI_HTTP_ISOLATES, default 1), and holds SIGHUP
 * (holdSighup); neither when the command does not serve. A head start only: serve then starts or drops isolates
 * to the config's count (which also reads .env). Returns how many it started.
 */
export function preloadHttpIsolates(
  argv: readonly string[],
  setting = Deno.env.get("DCI_HTTP_ISOLATES"),
): number {
  if (!serves(argv)) return 0;
  holdSighup();
  const count = setting === undefined
    ? 1
    : /^\s*\d{1,2}\s*$/.test(setting)
    ? Math.min(Number(setting), 64)
    : 0;
  for (let n = 1; n <= count; n++) {
    const entry: Preloaded = { worker: newHttpIsolate(n) };
    entry.worker.onerror = (e) => {
      e.preventDefault();
      entry.failed = e.message;
    };
    preloaded[n - 1] = entry;
  }
  return count;
}

/** The preloaded isolate `http-n`, taken (undefined when none, or when its module failed to load). */
export function takePreloaded(n: number): Worker | undefined {
  const entry = preloaded[n - 1];
  preloaded[n - 1] = undefined;
  if (!entry) return undefined;
  entry.worker.onerror = null;
  if (entry.failed === undefined) return entry.worker;
  entry.worker.terminate();
  return undefined;
}

/** Ends every preloaded isolate not taken. */
export function dropPreloaded(): void {
  for (const entry of preloaded.splice(0)) entry?.worker.terminate();
}

/** SIGHUP held while a server starts (holdSighup): whether one came, and the end of the hold. */
export interface SighupHold {
  /** Whether a SIGHUP came while held: serve runs its reload once the server is up. */
  readonly seen: boolean;
  /** The listener noting it (serve removes it when its own reload handler takes over). */
  readonly listener: () => void;
  /** Ends the hold (serve's end). */
  release(): void;
}

let hold: (SighupHold & { seen: boolean }) | undefined;

/**
 * Holds SIGHUP from now until released: its default action ends the process, which systemd counts a clean exit
 * (no restart), so one that comes while a server starts (a certificate renewal hook's `systemctl reload`) is
 * noted, and serve runs the reload once up. main.ts takes it first thing when its command line serves (the CLI's
 * module graph then loads for a few hundred ms before serve runs); serve takes the same hold (or a new one, when
 * started otherwise, as src/mod.ts does).
 */
export function holdSighup(): SighupHold {
  if (hold) return hold;
  const h = {
    seen: false,
    listener: () => void (h.seen = true),
    release: () => {
      if (hold !== h) return;
      hold = undefined;
      if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGHUP", h.listener);
    },
  };
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGHUP", h.listener);
  hold = h;
  return h;
}
