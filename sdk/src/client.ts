/**
 * A DCI client for one sender: gets tokens, signs each request (envelope signature, RFC 9421 or both), posts it
 * and verifies the server's signed answer against its JWKS.
 */
import type { CanonicalForm } from "./canonical.ts";
import {
  buildEnvelope,
  type Envelope,
  type EnvelopeOptions,
  type SearchItem,
  searchMessage,
} from "./envelope.ts";
import { signedEnvelope } from "./envelope_signature.ts";
import { signRequest } from "./http_signature.ts";
import { ServerKeys, type ServerVerification } from "./jwks.ts";
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
  /** The server's DCI sender id: header.receiver_id, and the only kid its answers may be signed with. */
  serverId?: string;
  scope?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/** An answer: `verification` is set when the body carried a signature (sync answers do; ERR ACKs do not). */
export interface DciAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
  verification?: ServerVerification;
}

/** Thrown when a signed answer does not verify against the server's JWKS. */
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

  constructor(private options: DciClientOptions) {
    const base = options.baseUrl.replace(/\/+$/, "");
    this.tokens = new TokenClient({
      tokenUrl: `${base}/oauth2/client/token`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      fetch: options.fetch,
      now: options.now,
    });
    this.serverKeys = new ServerKeys({
      jwksUrl: `${base}/.well-known/jwks.json`,
      serverId: options.serverId,
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
      senderId: this.options.key.senderId,
      action,
      receiverId: this.options.serverId,
      nowMs: this.#now(),
      ...options,
    });
  }

  /** A sync search (`/registry/sync/search`, or `{registry}`'s) with one item per query; verifies the answer. */
  search(
    items: SearchItem[],
    options: { registry?: string } = {},
  ): Promise<DciAnswer> {
    const path = options.registry
      ? `/dci_api/v1/${options.registry}/registry/sync/search`
      : "/registry/sync/search";
    const now = this.#now();
    return this.post(
      path,
      this.envelope(
        searchMessage(items.map((i) => ({ nowMs: now, ...i }))),
        "search",
      ),
    );
  }

  /**
   * Signs and posts an envelope to `path`; a 401 refetches the token once. Throws AnswerVerificationError when
   * a signed answer does not verify.
   */
  async post(path: string, envelope: Envelope): Promise<DciAnswer> {
    const o = this.options;
    const mode = o.signWith ?? "envelope";
    const body = toJson(
      mode === "http" ? envelope : await signedEnvelope(envelope, o.key, {
        nowMs: this.#now(),
        form: o.form,
      }),
    );
    const url = `${o.baseUrl.replace(/\/+$/, "")}${path}`;
    let res = await this.#send(url, body, mode);
    let text = await res.text();
    // A token the server no longer takes (expired early, client secret rotated, server key retired): fetch a new
    // one and send once more. The bearer is checked before the replay guard, so the message_id is still unused.
    if (res.status === 401 && errorCode(text) === "err.request.unauthorized") {
      this.tokens.invalidate();
      res = await this.#send(url, body, mode);
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
    if (typeof parsed.signature === "string") {
      answer.verification = await this.serverKeys.verifyText(text);
      if (!answer.verification.ok) throw new AnswerVerificationError(answer);
    }
    return answer;
  }

  async #send(
    url: string,
    body: string,
    mode: "envelope" | "http" | "both",
  ): Promise<Response> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      authorization: `Bearer ${await this.tokens.token()}`,
    };
    const signed = mode === "envelope" ? new Headers(headers) : await signRequest(
      { method: "POST", url, headers, body },
      this.options.key,
      { nowMs: this.#now() },
    );
    return await (this.options.fetch ?? fetch)(url, {
      method: "POST",
      headers: signed,
      body,
    });
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }
}
