/**
 * Log lines to stdout in batches. A synchronous stdout write per line was ~5 % of a signed search's CPU
 * (bench/load.ts profile): one write per batch costs the same syscall for dozens of lines. Lines are written
 * in order, at the latest FLUSH_MS after they were logged, at once when the batch reaches FLUSH_BYTES, and on
 * `flushLogBuffer()` (closeDeps, an HTTP isolate's drain, the isolate's unload), so a clean stop loses none.
 */

/** Longest a line waits in the buffer. */
export const FLUSH_MS = 25;
/** Size (in UTF-16 units, about bytes for log lines) at which the buffer is written at once. */
export const FLUSH_BYTES = 16 * 1024;

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
/** A line's length in UTF-8 bytes (an ASCII line's is its length: no encoding). */
export function utf8Length(line: string): number {
  return NON_ASCII.test(line) ? encoder.encode(line).length : line.length;
}

let pending: string[] = [];
let size = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

/** Adds a line (without its newline) to the stdout buffer. */
export function bufferLogLine(line: string): void {
  pending.push(line);
  size += line.length + 1;
  if (size >= FLUSH_BYTES) return flushLogBuffer();
  if (timer === undefined) {
    const t = setTimeout(flushLogBuffer, FLUSH_MS);
    // A pending flush never keeps a process (or a test) alive: unload and closeDeps flush what is left.
    Deno.unrefTimer(t);
    timer = t;
  }
}

/**
 * The most one write holds: POSIX writes of at most PIPE_BUF bytes to a pipe are atomic, so the lines of the
 * isolates sharing stdout (the main isolate, each HTTP isolate) never splice into each other when the reader (a
 * supervisor's pipe, journald, Docker) falls behind. The logger keeps every line shorter (src/obs/log.ts,
 * MAX_LINE_BYTES); a longer one would be written alone.
 */
export const ATOMIC_WRITE_BYTES = 4096;

/** Writes every buffered line to stdout now, whole lines at most ATOMIC_WRITE_BYTES a write. */
export function flushLogBuffer(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (pending.length === 0) return;
  const lines = pending;
  pending = [];
  size = 0;
  try {
    let chunk = "";
    let bytes = 0;
    for (const line of lines) {
      const n = utf8Length(line) + 1;
      if (chunk && bytes + n > ATOMIC_WRITE_BYTES) {
        write(chunk);
        chunk = "";
        bytes = 0;
      }
      chunk += line + "\n";
      bytes += n;
    }
    if (chunk) write(chunk);
  } catch {
    // A closed stdout must never take the server down.
  }
}

function write(text: string): void {
  const bytes = encoder.encode(text);
  // writeSync may write part of a large buffer to a pipe: write the rest too.
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

// The main isolate and each worker (HTTP isolates, search workers) have their own buffer: write it on exit,
// and before an uncaught error ends the isolate (the lines before a crash say what led to it).
if (typeof globalThis.addEventListener === "function") {
  for (const event of ["unload", "error", "unhandledrejection"]) {
    globalThis.addEventListener(event, flushLogBuffer);
  }
}
