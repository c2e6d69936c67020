/**
 * A DCI client for one sender: gets tokens, signs each request (envelope signature, RFC 9421 or both), posts it
 * and verifies the server's signed answer against its JWKS.
 */
import type { CanonicalForm } from "./canonical.ts";
import {
  buildEnvelope,
  type Envelope,
  type EnvelopeOptions,
  REGISTRY_TYPES,
  type SearchItem,
  searchMessage,
} from "./envelope.ts";
import { signedEnvelope } from "./envelope_signature.ts";
import { signRequest } from "./http_signature.ts";
import { DEFAULT_TIMEOUT_MS, ServerKeys, type ServerVerification } from "./jwks.ts";
import type { SenderKey } from "./keys.ts";
import { TokenClient } from "./token.ts";
import { toJson } from "./canonical.ts";

/** Who the client speaks for and where. */
export interface DciClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  key: SenderKey;
  /** `envelope` (the DCI `signature` field, default), `http` (RFC 9421 headers) or `both`. */
  signWith?: "envelope" | "http" | "both";
  /** The canonical form envelope signatures are made in (default `"python"`, the server's own). */
  form?: CanonicalForm;
  /**
   * How long an envelope signature is valid, in seconds (default and most 300): set it to at most the sender's
   * `signature_max_window_seconds` when the server's operator set that lower, which refuses longer windows.
   */
  signatureTtlSeconds?: number;
  /** The server's DCI sender id: header.receiver_id, and the only kid its answers may be signed with. */
  serverId?: string;
  scope?: string;
  /** Give up on a request, a token or a JWKS fetch after this long (default 30,000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * An answer: `verification` is set when the body carried a signature. A sync answer (HTTP 200) must carry one;
 * an ERR ACK and an async request's 202 ACK carry none.
 */
export interface DciAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
  verification?: ServerVerification;
}

/**
 * Thrown when an answer does not verify against the server's JWKS: a 200 without a signature (`missing`), a bad
 * signature, or a well-signed answer to another partner (`other_receiver`) or another request
 * (`other_transaction`), which whoever sits between you and the server could put in its place.
 */
export class AnswerVerificationError extends Error {
  constructor(readonly answer: DciAnswer) {
    super(
      `the server's answer did not verify: ${
        answer.verification?.ok === false ? answer.verification.reason : ""
      }`,
    );
    this.name = "AnswerVerificationError";
  }
}

/** The `err.*` code of an ERR ACK body, if it is one. */
function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { message?: { error?: { code?: string } } }).message?.error?.code;
  } catch {
    return undefined;
  }
}

/** Calls a DCI server as one sender. */
export class DciClient {
  readonly tokens: TokenClient;
  readonly serverKeys: ServerKeys;
  // A private field, not a property: the client secret never shows in console.log or JSON.stringify of a client.
  readonly #options: DciClientOptions;

  constructor(options: DciClientOptions) {
    this.#options = options;
    const base = options.baseUrl.replace(/\/+$/, "");
    this.tokens = new TokenClient({
      tokenUrl: `${base}/oauth2/client/token`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      timeoutMs: options.timeoutMs,
      fetch: options.fetch,
      now: options.now,
    });
    this.serverKeys = new ServerKeys({
      jwksUrl: `${base}/.well-known/jwks.json`,
      serverId: options.serverId,
      timeoutMs: options.timeoutMs,
      fetch: options.fetch,
      now: options.now,
    });
  }

  /** A request envelope from this sender (unsigned; `post` signs it); `options` adds e.g. `senderUri`. */
  envelope(
    message: Record<string, unknown>,
    action: string,
    options: Partial<EnvelopeOptions> = {},
  ): Envelope {
    return buildEnvelope(message, {
      senderId: this.#options.key.senderId,
      action,
      receiverId: this.#options.serverId,
      nowMs: this.#now(),
      ...options,
    });
  }

  /**
   * A sync search (`/registry/sync/search`, or `{registry}`'s) with one item per query; verifies the answer. An
   * item without `regType` names the registry's own (REGISTRY_TYPES) when `registry` is given, none otherwise.
   */
  search(
    items: SearchItem[],
    options: { registry?: string } = {},
  ): Promise<DciAnswer> {
    const path = options.registry
      ? `/dci_api/v1/${options.registry}/registry/sync/search`
      : "/registry/sync/search";
    const now = this.#now();
    const regType = options.registry ? REGISTRY_TYPES[options.registry] : undefined;
    return this.post(
      path,
      this.envelope(searchMessage(items.map((i) => ({ nowMs: now, regType, ...i }))), "search"),
    );
  }

  /**
   * Signs and posts an envelope to `path`; a 401 refetches the token once. Throws AnswerVerificationError when
   * an answer does not verify (its cases: AnswerVerificationError).
   */
  async post(path: string, envelope: Envelope): Promise<DciAnswer> {
    const o = this.#options;
    const mode = o.signWith ?? "envelope";
    const body = toJson(
      mode === "http" ? envelope : await signedEnvelope(envelope, o.key, {
        nowMs: this.#now(),
        form: o.form,
        ttlSeconds: o.signatureTtlSeconds,
      }),
    );
    const url = `${o.baseUrl.replace(/\/+$/, "")}${path}`;
    let sent = await this.#send(url, body, mode);
    let res = sent.res;
    let text = await res.text();
    // A token the server no longer takes (expired early, client secret rotated, server key retired): fetch a new
    // one and send once more. The bearer is checked before the replay guard, so the message_id is still unused.
    if (res.status === 401 && errorCode(text) === "err.request.unauthorized") {
      this.tokens.invalidate(sent.token);
      sent = await this.#send(url, body, mode);
      res = sent.res;
      text = await res.text();
    }
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = {};
    }
    const answer: DciAnswer = {
      status: res.status,
      headers: res.headers,
      text,
      body: parsed,
    };
    // A sync answer is always signed: one without a signature is refused, not passed on unverified.
    if (typeof parsed.signature === "string" || res.status === 200) {
      answer.verification = await this.serverKeys.verifyText(text, { receiverId: o.key.senderId });
      if (answer.verification.ok && !sameTransaction(envelope, answer.verification.envelope)) {
        answer.verification = { ok: false, reason: "other_transaction" };
      }
      if (!answer.verification.ok) throw new AnswerVerificationError(answer);
    }
    return answer;
  }

  async #send(
    url: string,
    body: string,
    mode: "envelope" | "http" | "both",
  ): Promise<{ res: Response; token: string }> {
    const token = await this.tokens.token();
    const headers: Record<string, string> = {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
    };
    const signed = mode === "envelope" ? new Headers(headers) : await signRequest(
      { method: "POST", url, headers, body },
      this.#options.key,
      { nowMs: this.#now() },
    );
    const res = await (this.#options.fetch ?? fetch)(url, {
      method: "POST",
      headers: signed,
      body,
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    return { res, token };
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** Whether an answer's `message.transaction_id` is the request's (either may have none: then it is not checked). */
function sameTransaction(request: Envelope, answer: { message: unknown }): boolean {
  const sent = (request.message as { transaction_id?: unknown } | undefined)?.transaction_id;
  const got = (answer.message as { transaction_id?: unknown } | undefined)?.transaction_id;
  return sent === undefined || got === undefined || sent === got;
}
