/**
 * An error of a search worker as it crosses to the pool (search_worker.ts → search_pool.ts). It used to cross as
 * its stack text alone, so the pool's Error lost SQLite's `code` and `errcode`: the server then told a storage
 * fault that passes (the write lock held elsewhere, a full disk: 503 and a retry) from an internal failure (500
 * with a request id) only by matching the text, and an async search's attempt recorded a stack as its reason.
 */

/** What a worker sends for an error (structured-clone safe). */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string;
  /** node:sqlite's `ERR_SQLITE_ERROR`, or another Node-style code. */
  code?: string;
  /** SQLite's result code (5 busy, 13 full…). */
  errcode?: number;
  errstr?: string;
}

/** The parts of `err` the pool needs to classify and log it as if it had been thrown in its own isolate. */
export function toWorkerError(err: unknown): WorkerError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const e = err as Error & { code?: unknown; errcode?: unknown; errstr?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
    ...(typeof e.code === "string" ? { code: e.code } : {}),
    ...(typeof e.errcode === "number" ? { errcode: e.errcode } : {}),
    ...(typeof e.errstr === "string" ? { errstr: e.errstr } : {}),
  };
}

/** The Error a worker's error stands for in the pool: same name, message, codes, and the worker's stack. */
export function fromWorkerError(sent: WorkerError): Error {
  const err = new Error(sent.message);
  err.name = sent.name;
  if (sent.stack !== undefined) err.stack = sent.stack;
  const { code, errcode, errstr } = sent;
  return Object.assign(err, {
    ...(code !== undefined ? { code } : {}),
    ...(errcode !== undefined ? { errcode } : {}),
    ...(errstr !== undefined ? { errstr } : {}),
  });
}
