/**
 * Bulk search by file on an async search endpoint: a `multipart/form-data` POST (the spec's FileInfo) is taken
 * here, in front of the JSON route of the same path; any other body passes on to it. Authenticated before its body
 * is read (src/auth/upload_auth.ts), streamed to the spool, then accepted as a durable transaction and ACKed.
 */
import type { Context, MiddlewareHandler } from "hono";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Registry } from "../dci/registry_router.ts";
import { DciError, DciRejection } from "../dci/errors.ts";
import { digitsAsNumber, nullAsAbsent, RequestHeader } from "../dci/schemas.ts";
import { checkNotEncrypted, checkVersion } from "../dci/header_rules.ts";
import { isHeaderSafeId, MAX_STRING } from "../dci/limits.ts";
import { formatIssues } from "../http/errors.ts";
import { parseBoundedJson } from "../http/json_depth.ts";
import { admitUpload, authenticateUpload, type UploadAuth } from "../auth/upload_auth.ts";
import { refusedAfterBearer } from "../auth/middleware.ts";
import { BulkFileError } from "../transactions/bulk_file.ts";
import {
  receiveUpload,
  type Upload,
  UPLOAD_IDLE_MS,
  UploadDigestMismatch,
} from "../transactions/bulk_upload.ts";
import { acceptBulk, openLimitError } from "../transactions/bulk_accept.ts";

/** The DCI header part of an upload: the request header, total_count optional (the file's count is the count). */
export const UploadHeader = z.looseObject({
  // A new object of the same fields, not RequestHeader.extend(): that one would be documented as MsgHeader,
  // whose total_count is required.
  ...RequestHeader.shape,
  // As the JSON route reads it: digits in a string as the number, null as absent.
  total_count: nullAsAbsent(digitsAsNumber(z.number().int().min(0)).optional()),
}).openapi("BulkUploadHeader");

/** Whether a request is a bulk search upload (so the JSON-only body rules leave it to this route). */
export function isBulkUpload(c: Context<AppEnv>): boolean {
  // The registry routes' own paths only: another area's path ending the same way (a console page) keeps its
  // body limit, which this one lifts.
  return c.req.method === "POST" && /^(\/dci_api\/v1(\/[^/]+)?)?\/registry\/search\/?$/.test(c.req.path) &&
    /^multipart\/form-data\s*;/i.test(c.req.header("content-type") ?? "");
}

/**
 * Uploads one sender may have arriving at once in one HTTP isolate. An upload's rate-limit count needs its header
 * part, which comes with the body: until then each upload is hashed, parsed and spooled as it arrives, so a
 * sender starting many at once would have them all read before the first count refused any.
 */
const UPLOADS_PER_SENDER = 2;

/** Uploads arriving now, per sender, in each isolate's Deps (shared by every registry's route). */
const ARRIVING = new WeakMap<Deps, Map<string, number>>();

/** The middleware of the async search path of `registry`: takes multipart uploads, passes anything else on. */
export function bulkSearchUpload(deps: Deps, registry: Registry): MiddlewareHandler<AppEnv> {
  const arriving = ARRIVING.get(deps) ?? new Map<string, number>();
  ARRIVING.set(deps, arriving);
  return async (c, next) => {
    if (!isBulkUpload(c)) return await next();
    const auth = await authenticateUpload(deps, c, "registry.search");
    const senderId = auth.bearer.senderId;
    // Accepted searches wait for the worker's bulk slots, each with its spool (up to DCI_BULK_MAX_FILE_BYTES) on
    // the data dir's disk: a sender's next one waits until one of its open ones is out. (Counted again with the
    // insert, which uploads arriving together reach one by one.)
    const open = await deps.storage.bulk.openOf(senderId);
    if (open >= deps.config.bulkMaxOpenPerSender) throw openLimitError(deps, senderId, open);
    // From here to the count's update nothing awaits: two uploads starting together both count.
    const already = arriving.get(senderId) ?? 0;
    if (already >= UPLOADS_PER_SENDER) {
      throw new DciError(
        "err.request.too_many_requests",
        `Sender "${senderId}" already has ${already} bulk search uploads arriving; send the next when one is in`,
        { headers: { "Retry-After": "10" } },
      );
    }
    arriving.set(senderId, already + 1);
    try {
      return await receiveAndAccept(deps, c, registry, auth);
    } finally {
      const left = (arriving.get(senderId) ?? 1) - 1;
      if (left > 0) arriving.set(senderId, left);
      else arriving.delete(senderId);
    }
  };
}

/** Receives an authenticated upload into its spool, counts it against the sender's limits and stores it. */
async function receiveAndAccept(
  deps: Deps,
  c: Context<AppEnv>,
  registry: Registry,
  auth: UploadAuth,
): Promise<Response> {
  const spool = `${crypto.randomUUID()}.lookups`;
  let upload: Upload;
  try {
    upload = await receiveUpload(c.req.raw, {
      spools: deps.storage.spools,
      spool,
      maxItems: deps.config.bulkMaxItems,
      maxBytes: deps.config.bulkMaxFileBytes,
      contentDigest: auth.contentDigest,
      // Inside the orphan sweep's grace, whatever it is set to: a stalled upload's spool is never swept, and
      // an arriving one's is touched often enough (the longest gap between touches is the touch interval plus
      // the idle limit: three quarters of the grace at most).
      idleMs: Math.min(UPLOAD_IDLE_MS, deps.config.bulkSpoolGraceSeconds * 500),
      touchEveryMs: Math.min(60_000, deps.config.bulkSpoolGraceSeconds * 250),
      maxMs: deps.config.replayWindowSeconds * 1000,
    });
  } catch (err) {
    // Refusals of the file (a digest mismatch, malformed, over the cap) count against the sender as a JSON
    // request's do.
    return await refusedAfterBearer(deps, auth.bearer, uploadError(err));
  }
  let headerChecked = false;
  try {
    const { header, transactionId } = uploadHeader(upload);
    headerChecked = true;
    // Counts its own refusals (a replayed message_id, a stale message_ts, a foreign sender_id).
    const limitHeaders = await admitUpload(deps, auth, header);
    const logFields = c.get("logFields");
    Object.assign(logFields ?? {}, { transaction_id: transactionId, items: upload.items });
    const res = await acceptBulk(deps, {
      registry,
      senderId: auth.bearer.senderId,
      header,
      transactionId,
      upload,
    });
    if (logFields) logFields.correlation_id = res.correlationId;
    for (const [k, v] of Object.entries(limitHeaders)) c.header(k, v);
    return c.json(res.ack, 202);
  } catch (err) {
    await deps.storage.spools.remove(upload.spool);
    if (!headerChecked) return await refusedAfterBearer(deps, auth.bearer, err);
    throw err;
  }
}

/** The answer to a failed receive: a digest mismatch as a JSON request's (401), a refused file as its code. */
function uploadError(err: unknown): unknown {
  if (err instanceof UploadDigestMismatch) {
    return new DciError("err.signature.invalid", `HTTP message signature: ${err.message}`);
  }
  if (!(err instanceof BulkFileError)) return err;
  if (err.code === "rjct.total_count.limit_exceeded") return new DciRejection(err.code, err.message);
  return new DciError(err.code, `Bulk search file refused: ${err.message}`, { status: err.status });
}

/** The upload's FileInfo action and DCI header part, checked as a JSON request's would be. */
function uploadHeader(upload: Upload) {
  const { fields } = upload;
  if (fields.action !== "search") {
    throw new DciRejection(
      "rjct.action.invalid",
      `FileInfo action ${JSON.stringify(fields.action)} is not "search"`,
    );
  }
  if (fields.header === undefined) {
    throw new DciError("err.request.bad", 'The upload has no "header" part (the DCI request header as JSON)');
  }
  const raw = parseBoundedJson(fields.header, { maxString: MAX_STRING }, "header");
  if (!raw.ok) {
    throw new DciError(
      "err.request.bad",
      raw.malformed ? 'The "header" part is not JSON' : `Invalid header part: ${raw.reason}`,
    );
  }
  const parsed = UploadHeader.safeParse(raw.value);
  if (!parsed.success) {
    throw new DciError("err.request.bad", `Invalid header part: ${formatIssues(parsed.error)}`);
  }
  const header = parsed.data;
  checkVersion(header.version);
  checkNotEncrypted(header.is_msg_encrypted);
  if (header.action !== "search") {
    throw new DciRejection(
      "rjct.action.invalid",
      `header.action ${JSON.stringify(header.action)} is not "search"`,
    );
  }
  if (header.total_count !== undefined && header.total_count !== upload.items) {
    throw new DciRejection(
      "rjct.total_count.invalid",
      `header.total_count ${header.total_count} is not the number of lookups in the file (${upload.items})`,
    );
  }
  const transactionId = fields.transaction_id ?? header.message_id;
  if (!isHeaderSafeId(transactionId)) {
    throw new DciError("err.request.bad", "transaction_id must be 1 to 99 printable characters");
  }
  return { header: { ...header, total_count: upload.items }, transactionId };
}
