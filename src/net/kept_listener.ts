/**
 * A listener kept bound. Deno closes a listening socket when accept() fails (EMFILE once the process has used every
 * file descriptor) and ends its server's `finished`, which looked like a clean stop: nothing logged, nothing
 * accepted again. Here such a close is logged at error and the listener bound again with backoff, until it stays
 * up or REBIND_GIVE_UP_MS has passed (then `finished` rejects with a ListenerLostError).
 */
import type { Logger } from "../obs/log.ts";
import { explainBindError, PortInUseError } from "./port_guard.ts";

type Listener = Deno.HttpServer<Deno.NetAddr>;

/** The first wait before re-binding a listener that closed on its own; each failed attempt doubles it. */
const REBIND_FIRST_DELAY_MS = 100;
/** The longest wait between two attempts, and how long a re-bound listener must stay open to end the outage. */
const REBIND_MAX_DELAY_MS = 5_000;
/** How long a listener that closed on its own is re-bound before it is given up. */
export const REBIND_GIVE_UP_MS = 60_000;

/** The wait before re-binding attempt `attempt` (from 0) of an outage `elapsedMs` old, or null to give up. */
export function rebindDelayMs(attempt: number, elapsedMs: number): number | null {
  if (elapsedMs >= REBIND_GIVE_UP_MS) return null;
  return Math.min(REBIND_FIRST_DELAY_MS * 2 ** attempt, REBIND_MAX_DELAY_MS);
}

/** A listener closed on its own and could not be re-bound: it no longer takes connections. */
export class ListenerLostError extends Error {
  constructor(hostname: string, port: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`the HTTP listener on ${hostname}:${port} closed and could not be re-bound: ${why}`, { cause });
    this.name = "ListenerLostError";
  }
}

/** A listener kept bound (keepListening). */
export interface KeptListener {
  /** The listener serving now. */
  readonly server: Listener;
  /** Resolves once stopped on request and the listener has ended; rejects with a ListenerLostError. */
  readonly finished: Promise<void>;
  /** Serves from `next` from now on (a TLS reload binds it beside the current one); returns the one it replaces. */
  replace(next: Listener): Listener;
  /** No more re-binding: a stop was asked for (the current listener is then shut down by shutdownAll). */
  stop(): void;
  /** Shuts down the current listener and those that closed on their own (their open connections end). */
  shutdownAll(): Promise<void>;
}

/**
 * Keeps `first` bound on `hostname`:`port`: when it closes without stop(), `bind` (which binds the same port,
 * host and certificate again, or throws) is called with backoff; `what` names it in the log.
 */
export function keepListening(
  first: Listener,
  options: { bind(): Listener; log: Logger; hostname: string; port: number; what: string },
): KeptListener {
  const { log, hostname, port, what } = options;
  let server = first;
  let stopping = false;
  let ended: () => void = () => {};
  let lostForGood: (err: ListenerLostError) => void = () => {};
  const finished = new Promise<void>((res, rej) => [ended, lostForGood] = [res, rej]);
  finished.catch(() => {}); // whoever runs the listener reads the rejection; it is never an unhandled one
  // Listeners that closed on their own: their open connections are still served, and closed at shutdown.
  const dead = new Set<Listener>();
  type Timer = ReturnType<typeof setTimeout>;
  let outage: { since: number; attempt: number; timer?: Timer; stable?: Timer } | undefined;
  const follow = (s: Listener) => {
    const done = (cause?: unknown) => {
      if (s !== server) return;
      if (stopping) return ended();
      lost(s, cause ?? "the listener stopped without an error");
    };
    s.finished.then(() => done(), (err) => done(err));
  };
  const lost = (s: Listener, cause: unknown) => {
    dead.add(s);
    if (outage) clearTimeout(outage.stable); // a re-bound listener closed again: the same outage goes on
    else {
      outage = { since: Date.now(), attempt: 0 };
      log.error(`${what} closed unexpectedly; re-binding it`, { port, hostname, err: cause });
    }
    retry(s, cause);
  };
  const retry = (gone: Listener, cause: unknown) => {
    const o = outage!;
    const wait = rebindDelayMs(o.attempt++, Date.now() - o.since);
    if (wait === null) return lostForGood(new ListenerLostError(hostname, port, cause));
    o.timer = setTimeout(() => rebind(gone), wait);
  };
  const rebind = (gone: Listener) => {
    // Stopping, or a TLS reload bound a new listener meanwhile: nothing to re-bind.
    if (stopping || server !== gone) {
      outage = undefined;
      return;
    }
    try {
      server = options.bind();
    } catch (err) {
      const why = explainBindError(err, hostname, port);
      // Another process holds the port now: waiting will not give it back.
      if (why instanceof PortInUseError) return lostForGood(new ListenerLostError(hostname, port, why));
      return retry(gone, why);
    }
    follow(server);
    // One that stays open past the longest wait has its descriptors back: the next loss is a new outage.
    outage!.stable = setTimeout(() => outage = undefined, REBIND_MAX_DELAY_MS);
  };
  follow(server);
  return {
    get server() {
      return server;
    },
    finished,
    replace(next) {
      const old = server;
      server = next;
      follow(next);
      return old;
    },
    stop() {
      stopping = true;
      clearTimeout(outage?.timer);
      clearTimeout(outage?.stable);
      // No listener to wait for while it is being re-bound (or after it was given up).
      if (dead.has(server)) ended();
    },
    async shutdownAll() {
      await Promise.all([...new Set([server, ...dead])].map((s) => s.shutdown().catch(() => {})));
    },
  };
}
