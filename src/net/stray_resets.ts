/**
 * An outbound connection reset that the runtime's node:http client raises as an uncaught "socket hang up" instead
 * of on a request's own listener. Seen in two loaded PostgreSQL test passes, where it ended the server (exit 1, no
 * log line): the stack was the client's socket hand-out (onSocketNT), the request it belonged to was not found
 * (every request of src/net/outbound.ts listens for "error"; the runtime's own re-send of a request whose reused
 * keep-alive socket closed was one suspect, and is now turned off there). Every outbound request has its own deadline, so the call it belonged to still ends
 * (timed out or failed) and its work is retried as any failed delivery: the event is logged at warn and the
 * process goes on. Any other uncaught error still ends the process.
 */
import type { Logger } from "../obs/log.ts";

/** Whether `err` is that reset: ECONNRESET "socket hang up" thrown from node's HTTP client. */
export function isStrayConnectionReset(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === "ECONNRESET" &&
    err.message === "socket hang up" && (err.stack ?? "").includes("node:_http_client");
}

/** Keeps such resets from ending this isolate (logged at warn instead); returns the function that stops it. */
export function guardStrayConnectionResets(log: Logger): () => void {
  const onError = (e: ErrorEvent) => {
    if (!isStrayConnectionReset(e.error)) return;
    e.preventDefault();
    log.warn("outbound connection reset outside its request: ignored, its call ends by its deadline", {
      err: e.error,
    });
  };
  globalThis.addEventListener("error", onError);
  return () => globalThis.removeEventListener("error", onError);
}
