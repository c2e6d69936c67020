/** The auth chain in front of every registry endpoint. */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Config } from "../config.ts";
import { DciError, DciRejection } from "../dci/errors.ts";
import { type BearerAuth, checkBearer } from "./bearer.ts";
import { checkSignature, type VerifiedBy } from "./signature_check.ts";
import { admit } from "./admission.ts";
import { StaleBearerRow } from "./bearer_store.ts";
import { BODIES_IN_FLIGHT } from "./sender_backoff.ts";
import { type RateDecision, rateLimitHeaders } from "../senders/rate_limit.ts";
import { parseBoundedJson, valuesCap } from "../http/json_depth.ts";
import { MAX_SENDER_ID, MAX_STRING } from "../dci/limits.ts";
import { AdmissionHeader } from "../dci/schemas.ts";
import { formatIssues } from "../http/errors.ts";
import { checkNotEncrypted, checkReceiverId } from "../dci/header_rules.ts";

/** OAuth2 scopes a registry endpoint may require. */
export type Scope =
  | "registry.search"
  | "registry.subscribe"
  | "registry.txn-status"
  | "registry.receipt"
  | "registry.enrollment";

interface Envelope {
  signature?: unknown;
  /** Absent only where the route takes the token's sender (AuthOptions.senderFromToken). */
  header: Record<string, unknown> & { sender_id?: string };
  message: unknown;
}

/**
 * Reads the body as a DCI envelope with a usable header.sender_id (or none, null included, when `senderFromToken`),
 * or throws 400. Before anything reads it: no nesting deeper than MAX_JSON_DEPTH, no array or object of more than
 * MAX_JSON_MEMBERS members nor more than MAX_JSON_VALUES values in all, no string longer than MAX_STRING, and the
 * header fields the replay guard stores (message_id, message_ts) within their caps.
 */
async function readEnvelope(
  c: Context<AppEnv>,
  maxValues: number,
  senderFromToken = false,
): Promise<{ envelope: Envelope; text: string }> {
  const text = await c.req.text();
  const parsed = parseBoundedJson(text, { maxString: MAX_STRING, maxValues });
  if (!parsed.ok) {
    throw new DciError(
      "err.request.bad",
      parsed.malformed ? "Malformed JSON in request body" : `Invalid request: ${parsed.reason}`,
    );
  }
  const body = parsed.value;
  const header = (body as { header?: unknown })?.header as Record<string, unknown> | undefined;
  const senderId = header && typeof header === "object" ? header.sender_id : undefined;
  const absentAllowed = senderFromToken && senderId == null;
  if (
    !absentAllowed && (typeof senderId !== "string" || senderId === "" || senderId.length > MAX_SENDER_ID)
  ) {
    throw new DciError(
      "err.request.bad",
      `Invalid request: header.sender_id is required (1 to ${MAX_SENDER_ID} characters)`,
    );
  }
  const admission = AdmissionHeader.safeParse(body);
  if (!admission.success) {
    throw new DciError("err.request.bad", `Invalid request: ${formatIssues(admission.error)}`);
  }
  // The route's JSON validator (Hono's) would parse the cached text a second time (~2 % of a search's CPU):
  // it gets this parse instead. zod builds new objects from what it validates, so nothing is shared onwards.
  c.req.json = <T>() => Promise.resolve(body as T);
  return { envelope: body as Envelope, text };
}

/** The 429 of a sender over its limit. */
export function tooManyRequests(
  senderId: string,
  d: RateDecision,
  headers: Record<string, string>,
): DciError {
  return new DciError(
    "err.request.too_many_requests",
    `Sender "${senderId}" exceeded its ${d.exceeded} limit; retry after ${d.retryAfter} s`,
    { headers },
  );
}

/**
 * The URL the client used, as RFC 9421 `@target-uri`, `@authority`, `@path` and the other derived components see
 * it. With DCI_PUBLIC_URL set: its origin and path prefix, then the request's path and query as the app got them
 * (a proxy may strip the prefix and send its own Host: `https://gw.example.org/dci` + `/registry/sync/search`).
 * Without it: the request's URL, with the scheme a trusted TLS-terminating proxy reports.
 */
export function requestUrl(c: Context<AppEnv>, config: Pick<Config, "publicUrl">): string {
  const proto = c.get("clientProto");
  // Every signed request comes here: the URL is parsed only when something in it changes.
  if (!config.publicUrl && !proto) return c.req.url;
  const url = new URL(c.req.url);
  if (config.publicUrl) {
    const base = new URL(config.publicUrl);
    return `${base.origin}${base.pathname.replace(/\/+$/, "")}${url.pathname}${url.search}`;
  }
  url.protocol = `${proto}:`;
  return url.href;
}

/**
 * Counts a request refused after its bearer check (a bad signature, a replayed message_id, a body or header it
 * may not send) against its sender's limits (no message id recorded): a token holder sending such requests
 * spends its own quota, and once that is gone the back-off refuses it before anything is read or verified. A
 * failed count changes nothing: the refusal is the answer.
 */
export async function countRefused(deps: Deps, bearer: BearerAuth): Promise<void> {
  try {
    const decision = await admit(deps, bearer.senderId, bearer.limits, {});
    if (!decision.allowed) {
      deps.senderBackoff.note(bearer.senderId, bearer.limits, decision, deps.clock.now());
    }
  } catch { /* the storage failed: nothing counted */ }
}

/**
 * Whether a refusal after the bearer check counts against the sender's limits: a refusal of the request itself
 * (4xx, or a header rejection such as a duplicate message_id), not a 429 (already the limit's answer), not a
 * fault of this server (5xx, a storage fault).
 */
function countsAgainstLimits(err: unknown): boolean {
  if (err instanceof DciRejection) return true;
  return err instanceof DciError && err.status >= 400 && err.status < 500 && err.status !== 429;
}

/**
 * Throws `err`, a refusal after the bearer check, having counted it against the sender's limits when it is the
 * request's own fault (countsAgainstLimits): a sender re-sending a bad body, file or signature, or a replayed
 * header, reaches its limit and the back-off, not an unbounded run of reads.
 */
export async function refusedAfterBearer(deps: Deps, bearer: BearerAuth, err: unknown): Promise<never> {
  if (countsAgainstLimits(err)) await countRefused(deps, bearer);
  throw err;
}

/**
 * Names the key that verified in the request's log line; a key chosen because the kidId named an unregistered
 * key id also gets its own line, so the operator sees which key stood in for which.
 */
function noteKey(c: Context<AppEnv>, verified: VerifiedBy): void {
  const fields = c.get("logFields") ?? {};
  fields.key_id = verified.keyId;
  c.set("logFields", fields);
  if (verified.namedKeyId === undefined) return;
  fields.kid_key_id = verified.namedKeyId;
  c.get("log")?.child(fields).info("signature verified with the sender's only key of its algorithm", {
    key_id: verified.keyId,
    kid_key_id: verified.namedKeyId,
  });
}

/** What the signature check reads of a bearer check's answer, as one comparable string. */
function settingsOf(bearer: BearerAuth): string {
  return JSON.stringify({ ...bearer, confirm: undefined });
}

/** The bytes a request's body takes at most: its declared length, else (chunked) the body limit. */
function declaredBodyBytes(c: Context<AppEnv>, bodyLimit: number): number {
  const declared = c.req.header("content-length");
  return declared !== undefined && /^\d{1,15}$/.test(declared)
    ? Math.min(Number(declared), bodyLimit)
    : bodyLimit;
}

/** A pass of the auth chain made on a cached client row that must run again on a fresh read. */
const RECHECK = Symbol("recheck");

/** How a route's requests name their sender. */
export interface AuthOptions {
  /**
   * The header may leave out sender_id, which is then the token's sender: the yaml's MsgCallbackHeader request
   * header (IBR sync/enrollment/updates) does not require it. The signature's kidId still names the sender.
   */
  senderFromToken?: boolean;
}

/**
 * Authenticates a registry request before any work: bearer token (client active, scope), a sender still over
 * the rate limit it was just refused for (429 before the body is read), token sender == header.sender_id,
 * signature per policy, per-sender rate limits, then the replay guard; sets `c.var.auth`.
 */
export function authenticate(deps: Deps, scope: Scope, options: AuthOptions = {}): MiddlewareHandler<AppEnv> {
  const maxValues = valuesCap(deps.config.bodyLimit);
  return async (c, next) => {
    const started = performance.now();
    let limitHeaders: Record<string, string> = {};
    /** The body bytes reserved for the sender until its admission (SenderBackoff.reserve). */
    let reserved: { senderId: string; bytes: number } | undefined;
    try {
      const authorization = c.req.header("authorization");
      let body: { envelope: Envelope; text: string } | undefined;
      let refused: { settings: string; err: unknown } | undefined;
      const logFields = c.get("logFields");
      /** The admission's write has confirmed the bearer check's row (or counted on a fresh one). */
      let admitted = false;
      /**
       * The chain after the bearer check. On a cached client row (bearer.confirm) nothing is refused on the
       * row's word: a step that would refuse on it, or an admission that finds the row changed, answers RECHECK
       * and the chain runs again on a fresh read (any other refusal reads the row afresh first, below).
       */
      const pass = async (bearer: BearerAuth): Promise<typeof RECHECK | undefined> => {
        const cached = bearer.confirm !== undefined;
        c.set("logFields", {
          ...logFields,
          sender_id: bearer.senderId,
          client_id: bearer.clientId,
          ...(bearer.testMode ? { test_mode: true } : {}),
        });
        // A sender the exact count refused a moment ago is refused again before its body is even read.
        const noted = deps.senderBackoff.check(bearer.senderId, bearer.limits, deps.clock.now());
        if (noted) {
          if (cached) return RECHECK;
          limitHeaders = rateLimitHeaders(noted, bearer.limits, deps.clock.now());
          throw tooManyRequests(bearer.senderId, noted, limitHeaders);
        }
        if (body === undefined && reserved === undefined) {
          const bytes = declaredBodyBytes(c, deps.config.bodyLimit);
          if (!deps.senderBackoff.reserve(bearer.senderId, bytes, BODIES_IN_FLIGHT * deps.config.bodyLimit)) {
            if (cached) return RECHECK;
            throw new DciError(
              "err.request.too_many_requests",
              `Sender "${bearer.senderId}" has as many requests on their way as are read at once; send the next ` +
                "when one is answered",
              { headers: { "Retry-After": "1" } },
            );
          }
          reserved = { senderId: bearer.senderId, bytes };
        }
        body ??= await readEnvelope(c, maxValues, options.senderFromToken);
        const { envelope, text } = body;
        c.set("dciRequest", envelope);
        if ((envelope.header.sender_id ?? (options.senderFromToken && bearer.senderId)) !== bearer.senderId) {
          if (cached) return RECHECK;
          throw new DciError(
            "err.request.forbidden",
            `header.sender_id "${envelope.header.sender_id}" is not the token's sender "${bearer.senderId}"`,
          );
        }
        checkReceiverId(deps.config, envelope.header.receiver_id);
        checkNotEncrypted(envelope.header.is_msg_encrypted);
        let verified: VerifiedBy | undefined;
        try {
          // A signature refused on the cached row is not checked again when the fresh row is the same.
          if (refused && refused.settings === settingsOf(bearer)) throw refused.err;
          verified = await checkSignature(deps, {
            envelope,
            request: { method: c.req.method, url: requestUrl(c, deps.config), headers: c.req.raw.headers },
            text,
          }, bearer);
        } catch (err) {
          if (cached) {
            refused = { settings: settingsOf(bearer), err };
            return RECHECK;
          }
          throw err;
        }
        if (verified) noteKey(c, verified);
        // Rate limit and replay insert, group-committed; a replay refused there is not counted. A sync answer is
        // stored nowhere, so its message_id seen again is a duplicate; an async one only once it was stored; a
        // writing one only once it was answered.
        const action = c.get("action");
        let decision;
        try {
          decision = await admit(deps, bearer.senderId, bearer.limits, envelope.header, undefined, {
            kind: action?.writes ? "write" : action?.sync ?? true ? "sync" : "async",
            confirm: bearer.confirm,
          });
        } catch (err) {
          if (err instanceof StaleBearerRow) return RECHECK;
          throw err;
        }
        admitted = true;
        limitHeaders = rateLimitHeaders(decision, bearer.limits, deps.clock.now());
        if (!decision.allowed) {
          deps.senderBackoff.note(bearer.senderId, bearer.limits, decision, deps.clock.now());
          throw tooManyRequests(bearer.senderId, decision, limitHeaders);
        }
        c.set("auth", {
          senderId: bearer.senderId,
          clientId: bearer.clientId,
          scopes: bearer.scopes,
          keyId: verified?.keyId,
          ...(bearer.testMode ? { testMode: true } : {}),
          ...(bearer.lenient.length > 0 ? { lenient: bearer.lenient } : {}),
        });
      };
      const bearer = await checkBearer(deps, authorization, scope, { cached: true });
      /** The bearer check the refusal below counts against (none while its own fresh read refuses). */
      let current: BearerAuth | undefined = bearer;
      try {
        let outcome;
        try {
          outcome = await pass(bearer);
        } catch (err) {
          // Refused before the admission confirmed a cached row (a body that does not parse, a receiver_id, a
          // storage failure): the row is read afresh first, and its own refusal (a client revoked, a sender
          // disabled, a scope removed) is the answer, as it was before any body was read.
          if (bearer.confirm && !admitted) {
            current = undefined;
            current = await checkBearer(deps, authorization, scope);
          }
          throw err;
        }
        if (outcome === RECHECK) {
          current = undefined;
          current = await checkBearer(deps, authorization, scope);
          await pass(current);
        }
      } catch (err) {
        // A request its sender's token let in and that was then refused (its body, header, signature, a replayed
        // message_id or a stale message_ts) counts against the sender's limits as an admitted one does: a copy
        // of one valid signed request sent over and over, each read and verified, spends the sender's quota too,
        // and once that is gone the back-off refuses it unread.
        if (!current || admitted) throw err;
        return await refusedAfterBearer(deps, current, err);
      }
    } catch (err) {
      const code = err instanceof Error && "code" in err ? String((err as { code: unknown }).code) : "error";
      deps.metrics.inc("dci_auth_failures_total", "Registry requests refused by the auth chain", { code });
      throw err;
    } finally {
      if (reserved) deps.senderBackoff.release(reserved.senderId, reserved.bytes);
      deps.metrics.observe(
        "dci_auth_seconds",
        "Time the auth chain takes",
        {},
        (performance.now() - started) / 1000,
      );
    }
    await next();
    for (const [k, v] of Object.entries(limitHeaders)) c.res.headers.set(k, v);
  };
}
