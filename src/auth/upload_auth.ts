/**
 * The auth chain of a streamed upload (a bulk search file), in two halves around the body: before a byte is read,
 * the bearer token (client active, scope), a sender still over its rate limit, and the RFC 9421 signature over
 * the request's headers (its Content-Digest is then held against the body as it streams); after, the DCI header
 * part's sender_id, receiver_id, the rate limit and the replay guard, as for a JSON request.
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { type BearerAuth, checkBearer } from "./bearer.ts";
import { checkUploadSignature, type VerifiedBy } from "./signature_check.ts";
import { admit } from "./admission.ts";
import { rateLimitHeaders } from "../senders/rate_limit.ts";
import { checkReceiverId } from "../dci/header_rules.ts";
import { refusedAfterBearer, requestUrl, type Scope, tooManyRequests } from "./middleware.ts";

/** Who an upload speaks for, and the Content-Digest its body must match (when signed). */
export interface UploadAuth {
  bearer: BearerAuth;
  verified?: VerifiedBy;
  contentDigest?: string;
  /** When the upload's headers were checked (ms): its message_ts is held against this, not the body's end. */
  startedAt: number;
  /** The bearer token and scope, checked again once the body is in (revoked meanwhile: refused). */
  recheck: () => Promise<BearerAuth>;
}

/** The checks before the body: bearer, back-off, signature. Throws DciError. */
export async function authenticateUpload(deps: Deps, c: Context<AppEnv>, scope: Scope): Promise<UploadAuth> {
  const startedAt = deps.clock.now();
  const authorization = c.req.header("authorization");
  const bearer = await checkBearer(deps, authorization, scope);
  c.set("logFields", { ...c.get("logFields"), sender_id: bearer.senderId, client_id: bearer.clientId });
  const noted = deps.senderBackoff.check(bearer.senderId, bearer.limits, deps.clock.now());
  if (noted) {
    throw tooManyRequests(bearer.senderId, noted, rateLimitHeaders(noted, bearer.limits, deps.clock.now()));
  }
  const verified = await checkUploadSignature(
    deps,
    { method: c.req.method, url: requestUrl(c, deps.config), headers: c.req.raw.headers },
    bearer,
  ).catch((err) => refusedAfterBearer(deps, bearer, err));
  return {
    bearer,
    verified,
    contentDigest: verified ? c.req.header("content-digest") : undefined,
    startedAt,
    recheck: () => checkBearer(deps, authorization, scope),
  };
}

/** The checks after the body, on the upload's DCI header part: sender_id, receiver_id, rate limit, replay. */
export async function admitUpload(
  deps: Deps,
  auth: UploadAuth,
  header: Record<string, unknown> & { sender_id: string },
): Promise<Record<string, string>> {
  // The body took a while: a token, client or sender revoked or disabled meanwhile counts.
  const bearer = await auth.recheck();
  let decision;
  try {
    if (header.sender_id !== bearer.senderId) {
      throw new DciError(
        "err.request.forbidden",
        `header.sender_id "${header.sender_id}" is not the token's sender "${bearer.senderId}"`,
      );
    }
    checkReceiverId(deps.config, header.receiver_id);
    decision = await admit(deps, bearer.senderId, bearer.limits, header, auth.startedAt);
  } catch (err) {
    return await refusedAfterBearer(deps, bearer, err);
  }
  const headers = rateLimitHeaders(decision, bearer.limits, deps.clock.now());
  if (!decision.allowed) {
    deps.senderBackoff.note(bearer.senderId, bearer.limits, decision, deps.clock.now());
    throw tooManyRequests(bearer.senderId, decision, headers);
  }
  return headers;
}
