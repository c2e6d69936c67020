/** Structured JSON logs, one object a line. Callers pass fields, never secrets or request bodies. */

import { ATOMIC_WRITE_BYTES, bufferLogLine, flushLogBuffer, utf8Length } from "./log_buffer.ts";

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A structured logger; `child` adds fixed fields (request id, sender id, ...). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Names whose values never reach a log line, at any depth (a nested `{ sender: { secret } }` too). */
const SECRET_KEYS = /^(authorization|password|secret|client_secret|token|access_token|private.*|signature)$/i;

/**
 * Creates a logger writing JSON lines at or above `level` to `sink` (by default stdout, in batches:
 * src/obs/log_buffer.ts).
 */
export function createLogger(
  level: LogLevel,
  options: { sink?: (line: string) => void; base?: LogFields } = {},
): Logger {
  const sink = options.sink ?? bufferLogLine;
  const min = ORDER[level];
  const make = (base: LogFields): Logger => {
    const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
      if (ORDER[lvl] < min) return;
      const entry: LogFields = { ts: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
      try {
        sink(fitted(entry, JSON.stringify(entry, replacer)));
        // A warning or an error is written at once (with the lines before it): it may be the last before a crash.
        if (ORDER[lvl] >= ORDER.warn && !options.sink) flushLogBuffer();
      } catch {
        // A closed stdout must never take the server down.
      }
    };
    return {
      debug: (m, f) => write("debug", m, f),
      info: (m, f) => write("info", m, f),
      warn: (m, f) => write("warn", m, f),
      error: (m, f) => write("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.base ?? {});
}

/**
 * JSON.stringify's replacer for log lines: it sees every key at every depth (the fixed fields of `child`, nested
 * objects, an error's own fields), so a secret's value is redacted wherever a caller put it.
 */
function replacer(key: string, value: unknown): unknown {
  if (key !== "" && SECRET_KEYS.test(key)) return "[redacted]";
  if (value instanceof Error) {
    // SQLite's codes say which storage fault it was (node:sqlite's code, the result code and its name).
    const { code, errcode, errstr } = value as { code?: unknown; errcode?: unknown; errstr?: unknown };
    return { name: value.name, message: value.message, code, errcode, errstr, stack: value.stack };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * The longest line, in UTF-8 bytes: with its newline one atomic write to a pipe (src/obs/log_buffer.ts), so the
 * isolates sharing stdout never splice a line of one into a line of another, however far the reader falls behind.
 */
export const MAX_LINE_BYTES = ATOMIC_WRITE_BYTES - 1;
/** The lengths long strings are cut to, in turn, until the line fits. */
const CUTS = [1024, 256, 64];

/** Whether a line fits MAX_LINE_BYTES (a UTF-16 unit is at most 3 UTF-8 bytes: most lines need no encoding). */
function fits(line: string): boolean {
  if (line.length * 3 <= MAX_LINE_BYTES) return true;
  return line.length <= MAX_LINE_BYTES && utf8Length(line) <= MAX_LINE_BYTES;
}

/** The first `n` UTF-16 units of `s`, one fewer when the last would be half of a surrogate pair. */
function head(s: string, n: number): string {
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/**
 * `line` (`entry` written) when it fits; else `entry` written again with every string longer than a cut shortened
 * to it (shorter cuts in turn) and `truncated: true`; when even the shortest leaves it too long (a great many
 * fields), only its time, level, message (shortened), request id and `truncated`. No cut splits a surrogate pair.
 */
function fitted(entry: LogFields, line: string): string {
  if (fits(line)) return line;
  const marked = { ...entry, truncated: true };
  for (const cut of CUTS) {
    const shorter = JSON.stringify(marked, (key, value) => {
      const v = replacer(key, value);
      return typeof v === "string" && v.length > cut ? `${head(v, cut)}… (${v.length - cut} more)` : v;
    });
    if (fits(shorter)) return shorter;
  }
  const { ts, level, msg, request_id } = entry;
  const id = typeof request_id === "string" ? { request_id: head(request_id, 128) } : {};
  return JSON.stringify({ ts, level, msg: head(String(msg), 256), ...id, truncated: true });
}

/** A logger that drops everything (tests, CLI commands). */
export const silentLogger: Logger = createLogger("error", { sink: () => {} });
