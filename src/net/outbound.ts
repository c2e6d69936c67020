/**
 * The one outbound HTTP client (callbacks, notifications, sender JWKS fetches). Every outbound call in the
 * server goes through `Deps.http`; nothing else calls fetch to a sender-supplied address.
 */
import type { Config } from "../config.ts";

/** Why an outbound call failed. `blocked` and `invalid_url` mean no connection was attempted. */
export type OutboundFailure =
  | "invalid_url"
  | "blocked"
  | "dns"
  | "timeout"
  | "too_large"
  | "redirect"
  | "network";

/** An outbound call that did not produce an HTTP response. */
export class OutboundError extends Error {
  constructor(readonly reason: OutboundFailure, message: string) {
    super(message);
    this.name = "OutboundError";
  }
}

/** An HTTP response read in full (up to the size cap). */
export interface OutboundResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text(): string;
}

/** One outbound request. */
export interface OutboundRequest {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  maxBytes?: number;
}

/** The outbound client interface. */
export interface OutboundClient {
  /** Sends the request, or throws OutboundError. Never follows redirects. */
  request(url: string, init: OutboundRequest): Promise<OutboundResponse>;
  /** Checks a URL against the guard (scheme, host, resolved addresses) without connecting. */
  check(url: string): Promise<void>;
}

/** Creates the SSRF-guarded client for `config` (the authentication issue implements the guard). */
export function createOutboundClient(_config: Config): OutboundClient {
  return {
    request: () => Promise.reject(new OutboundError("blocked", "outbound HTTP is not available yet")),
    check: () => Promise.reject(new OutboundError("blocked", "outbound HTTP is not available yet")),
  };
}
