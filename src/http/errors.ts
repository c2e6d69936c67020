/** Rendering every failure as the DCI ERR ACK, in one place. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "@hono/zod-openapi";
import { DciError, DciRejection, type ErrCode } from "../dci/errors.ts";
import type { Ack } from "../dci/schemas.ts";
import type { AppEnv } from "./context.ts";
import type { Deps } from "../deps.ts";
import { type OutgoingHeader, signedEnvelope } from "../dci/envelope.ts";
import { isDatabaseBusy, isDatabaseUnavailable, isStorageFull, noteStorageFull } from "../db/faults.ts";
import { answerMeta } from "../senders/settings.ts";
import type { Logger } from "../obs/log.ts";
import { isTokenPath, tokenErrorBody, tokenErrorHeaders } from "../auth/token_paths.ts";
import { isRegistrantPath } from "./logged_path.ts";

/** Retry-After of a 503 answered because the write lock stayed held past the wait (seconds). */
const BUSY_RETRY_AFTER_S = 2;

/** Builds an ERR ACK body. */
export function errAck(code: ErrCode, message: string, correlationId: string, timestamp: string): Ack {
  return {
    message: {
      ack_status: "ERR",
      timestamp,
      correlation_id: correlationId.slice(0, 99),
      error: { code, message: message.slice(0, 999) },
    },
  };
}

/** Formats zod issues as `path: message; …`, naming each field path. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.map(String).join(".") : "(body)";
    return `${path}: ${i.message}`;
  }).join("; ");
}

/** The validation hook every OpenAPI route uses: a schema failure is a 400 err.request.bad naming the field. */
export function validationHook(result: { success: boolean; error?: unknown }): void {
  if (!result.success) {
    throw new DciError("err.request.bad", `Invalid request: ${formatIssues(result.error as z.ZodError)}`);
  }
}

/**
 * Maps any thrown value to a response: a header-level rejection becomes the endpoint's signed `rjct` answer on a
 * sync endpoint, the ERR ACK on an async one (409 for a duplicate message id, else 400); everything else the
 * ERR ACK. 500s log the error and never echo it.
 */
export function renderError(err: unknown, c: Context<AppEnv>, deps: Deps): Response {
  const dci = classifyError(err, c, deps);
  if (dci instanceof DciRejection) return renderRejection(dci, c, deps);
  const requestId = c.get("requestId") ?? "unknown";
  const ts = new Date(deps.clock.now()).toISOString();
  const headers: Record<string, string> = { ...dci.headers };
  if (dci.status === 401 && !headers["WWW-Authenticate"]) headers["WWW-Authenticate"] = 'Bearer realm="dci"';
  noteRefusal(c, dci.code, dci.message);
  if (isTokenPath(c.req.path)) return tokenError(c, dci, headers);
  return c.json(errAck(dci.code, dci.message, requestId, ts), dci.status as 400, headers);
}

/**
 * What any thrown value answers as: a DciError or DciRejection as it is, an HTTP exception as its DCI error, a
 * storage fault as its 503 (logged, a full disk noted for /readyz), anything else a 500 (logged with the request
 * id it quotes). Done once per error, before a deployment's renderError hook: an answer of the hook's own keeps
 * the error in the log and readiness.
 */
export function classifyError(err: unknown, c: Context<AppEnv>, deps: Deps): DciError | DciRejection {
  if (err instanceof DciRejection || err instanceof DciError) return err;
  if (err instanceof HTTPException) return fromHttpException(err);
  return storageFault(err, deps, c.get("log")) ??
    (isBodyReadFailure(err)
      ? new DciError("err.request.bad", "The request body could not be read (truncated or aborted upload)")
      : internalError(err, c, c.get("requestId") ?? "unknown"));
}

/**
 * A failure of the token endpoint outside its own checks (a body over its bound or stalled, a storage fault, an
 * internal error) in RFC 6749 §5.2's shape, as its own refusals are: OAuth2 client libraries read `error`.
 */
function tokenError(c: Context<AppEnv>, dci: DciError, headers: Record<string, string>): Response {
  const error = dci.status === 503
    ? "temporarily_unavailable"
    : dci.status >= 500
    ? "server_error"
    : dci.status === 401
    ? "invalid_client"
    : "invalid_request";
  return c.json(
    tokenErrorBody(error, dci.message),
    dci.status as 400,
    tokenErrorHeaders(dci.status, headers),
  );
}

/**
 * Puts why a request was refused on its access log line (src/http/middleware.ts writes `logFields`): a partner
 * quoting a request id gets an answer from the log (a bad signature, an expired token, a replayed message_id),
 * which the status alone does not give. The message is the server's own, cut short; on a registrant's path only
 * the code (its message may name the registrant's id or values, which stay out of stdout, as its path's id does).
 */
function noteRefusal(c: Context<AppEnv>, code: string, message: string): void {
  const fields = c.get("logFields");
  if (!fields) return;
  fields.error_code = code;
  if (isRegistrantPath(c.req.path)) return;
  fields.error = message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/**
 * The 503 (with Retry-After) of a storage fault that passes: a full disk, a database that cannot be reached, a
 * write lock held by another process; logged to `log` when given. Undefined for any other error.
 */
export function storageFault(err: unknown, deps: Deps, log?: Logger): DciError | undefined {
  if (isStorageFull(err)) {
    log?.error("storage full", { err });
    if (deps.db) noteStorageFull(deps.db, err, deps.clock.now());
    return new DciError("err.service.unavailable", "Storage is full; retry later", {
      status: 503,
      headers: { "Retry-After": "30" },
    });
  }
  if (isDatabaseUnavailable(err)) {
    log?.warn("database unavailable", { error: String(err) });
    return new DciError("err.service.unavailable", "The database is unavailable; retry later", {
      status: 503,
      headers: { "Retry-After": String(BUSY_RETRY_AFTER_S) },
    });
  }
  if (isDatabaseBusy(err)) {
    log?.warn("database busy: the write lock is held elsewhere", { error: String(err) });
    return new DciError(
      "err.service.unavailable",
      "The database is busy (its write lock is held by another process); retry later",
      { status: 503, headers: { "Retry-After": String(BUSY_RETRY_AFTER_S) } },
    );
  }
  return undefined;
}

function internalError(err: unknown, c: Context<AppEnv>, requestId: string): DciError {
  c.get("log")?.error("unhandled error", { err });
  return new DciError("err.service.unavailable", `Internal error; quote request id ${requestId}`, {
    status: 500,
  });
}

/** A client-side failure while reading the request body (lying Content-Length, aborted upload). */
function isBodyReadFailure(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Http ||
    err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.UnexpectedEof;
}

function fromHttpException(err: HTTPException): DciError {
  if (err.status === 413) {
    return new DciError("err.request.bad", "Request body is larger than the limit", { status: 413 });
  }
  if (err.status === 400 && /json/i.test(err.message)) {
    return new DciError("err.request.bad", "Malformed JSON in request body");
  }
  if (err.status === 401) return new DciError("err.request.unauthorized", err.message || "Unauthorized");
  if (err.status === 403) return new DciError("err.request.forbidden", err.message || "Forbidden");
  if (err.status === 404) return new DciError("err.request.not_found", err.message || "Not found");
  return new DciError("err.request.bad", err.message || "Bad request", { status: err.status });
}

/** The ERR ACK code of a header-level rejection on an async endpoint (the spec's Error codes are err.* only). */
function errCodeOf(code: DciRejection["code"]): ErrCode {
  return code === "rjct.version.invalid" ? "err.version.not_supported" : "err.request.bad";
}

/**
 * A header-level rejection: on a sync endpoint, the complete signed answer of that endpoint (header rjct with the
 * code, one rejected item per request item); on an async one the ERR ACK, its message led by the rjct code.
 */
function renderRejection(err: DciRejection, c: Context<AppEnv>, deps: Deps): Response {
  const status = err.code === "rjct.message_id.duplicate" ? 409 : 400;
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const now = new Date(deps.clock.now()).toISOString();
  // The route set its action before any check ran (src/actions/routes.ts): no guessing from the URL.
  const action = c.get("action");
  noteRefusal(c, err.code, err.message);
  if (!action?.sync) {
    return c.json(errAck(errCodeOf(err.code), `${err.code}: ${err.message}`, requestId, now), status);
  }
  const { message, items } = action.rejected(c.get("dciRequest")?.message, {
    correlationId: requestId,
    now,
    reason: err.message,
  });
  const envelope = signedEnvelope(deps, {
    action: action.callbackAction as OutgoingHeader["action"],
    status: "rjct",
    statusReasonCode: err.code,
    statusReasonMessage: err.message,
    receiverId: c.get("auth")?.senderId,
    totalCount: items,
    completedCount: items,
    meta: answerMeta(c.get("auth")),
  }, message);
  return c.json(envelope, status);
}
