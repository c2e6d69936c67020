/**
 * The one outbound HTTP client (callbacks, notifications, sender JWKS fetches). Every outbound call in the
 * server goes through `Deps.http`; nothing else calls fetch to a sender-supplied address.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Agent, IncomingMessage } from "node:http";
import type { Config } from "../config.ts";
import type { Logger } from "../obs/log.ts";
import { parseAllowlist } from "./allowlist.ts";
import { parseDenylist } from "./denylist.ts";
import { AgentPool, type PinnedAddress, pinnedLookup, unpooledAgent } from "./agent_pool.ts";
import { destinationOf, FairSlots } from "./fair_slots.ts";
import {
  GuardError,
  type ParsedIpWithText,
  type Resolver,
  systemResolver,
  type VettedTarget,
  vetUrl,
} from "./guard.ts";
import { concat, toResponse } from "./response_body.ts";

/**
 * Why an outbound call failed. `blocked` and `invalid_url` mean no connection was attempted, and so does `busy`:
 * no outbound slot came free in time (the receiver was never asked, so it is no failure of the receiver's).
 */
export type OutboundFailure =
  | "invalid_url"
  | "blocked"
  | "busy"
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
  /** With `bodyPrefix`: the body was longer than the prefix, or still arriving at the deadline, and was cut. */
  truncated?: boolean;
  text(): string;
}

/** One outbound request. */
export interface OutboundRequest {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /**
   * The time the receiver gets: connecting, sending and the answer (default DCI_OUTBOUND_TIMEOUT_MS). It starts
   * once the request holds its slot, so a wait for one never eats it; the wait is bounded by as much again.
   */
  timeoutMs?: number;
  maxBytes?: number;
  /** Settle on the status line and discard the body unread. */
  statusOnly?: boolean;
  /**
   * Read at most this many bytes of the body, then settle with them (`truncated`): a longer body, or one still
   * arriving at the deadline once the status line has come, is cut rather than failed. Deliveries read a
   * receiver's ACK this way: the status decides, the body can only turn a 2xx into a rejection.
   */
  bodyPrefix?: number;
  /**
   * Called once a slot is held, right before connecting (a wait for a slot can be long); throwing cancels the
   * request with that error. Deliveries use it to re-check that their sender may still be sent to (a database
   * read: it may be async).
   */
  beforeSend?: () => void | Promise<void>;
  /** The sender the call is made for: its allowlist entries apply and its share of the slots is counted. */
  sender?: string;
}

/** The outbound client interface. */
export interface OutboundClient {
  /** Sends the request, or throws OutboundError. Never follows redirects. */
  request(url: string, init: OutboundRequest): Promise<OutboundResponse>;
  /** Checks a URL against the guard (scheme, host, resolved addresses) without connecting. */
  check(url: string, options?: { sender?: string }): Promise<void>;
  /** Closes the pooled keep-alive connections (the server is stopping); later requests connect anew. */
  close?(): void;
}

/** Options: a fake resolver for tests (the guard still vets what it returns), a log for refusal details. */
export interface OutboundOptions {
  resolver?: Resolver;
  log?: Logger;
  /** Called just before a socket is opened to `address` (tests count connection attempts; a throw aborts). */
  beforeConnect?: (url: URL, address: string) => void;
}

/**
 * Creates the SSRF-guarded client for `config`: vetted, pinned, timed, capped and concurrency-limited, with
 * fair slots (per destination and per sender) so that a receiver that never answers holds only its share.
 */
export function createOutboundClient(config: Config, options: OutboundOptions = {}): OutboundClient {
  const allow = parseAllowlist(config.outboundAllow);
  const deny = config.outboundDeny.length ? parseDenylist(config.outboundDeny) : undefined;
  const resolve = options.resolver ?? systemResolver;
  const slots = new FairSlots({
    total: config.outboundConcurrency,
    perDestination: config.outboundPerDestination,
    perSender: config.outboundPerSender,
  });
  const pool = new AgentPool({
    idleMs: config.outboundIdleMs,
    socketsPerAgent: config.outboundPerDestination,
    maxAgents: 256,
  });
  const vet = async (url: string, sender: string | undefined, deadline: AbortSignal, ms: number) => {
    try {
      return await withDeadline(vetUrl(url, { allow, deny, resolve, sender }), deadline, ms);
    } catch (err) {
      if (!(err instanceof GuardError)) throw err;
      // The resolved address stays out of the error (senders see it); the operator may see it at debug.
      if (err.detail) {
        options.log?.debug("outbound refused", { host: new URL(url).host, sender, why: err.detail });
      }
      throw new OutboundError(err.reason, err.message);
    }
  };
  const failed = new FailedAddresses();
  return {
    check: async (url, opts = {}) => {
      const ms = config.outboundTimeoutMs;
      void await vet(url, opts.sender, AbortSignal.timeout(ms), ms);
    },
    request: async (url, init) => {
      const timeoutMs = init.timeoutMs ?? config.outboundTimeoutMs;
      const maxBytes = init.maxBytes ?? config.outboundMaxBytes;
      const target = await vet(url, init.sender, AbortSignal.timeout(timeoutMs), timeoutMs);
      const key = { destination: destinationOf(target.url), sender: init.sender };
      // The wait for a slot is bounded on its own: a request queued behind slow ones is not sent with the time
      // they used, timed out and blamed on its receiver (which may have got and answered it meanwhile).
      const release = await slots.acquire(key, AbortSignal.timeout(timeoutMs)).catch(() => {
        throw new OutboundError("busy", `no free outbound slot within ${timeoutMs} ms`);
      });
      try {
        await init.beforeSend?.();
        const deadline = AbortSignal.timeout(timeoutMs);
        const addresses = failed.order(target);
        for (let i = 0;; i++) {
          const address = addresses[i];
          const last = i === addresses.length - 1;
          options.beforeConnect?.(target.url, address.text);
          // Another address remains: this one gets a share of the time to connect, and a failure to connect
          // (no byte of the request sent) moves on to the next instead of failing the request.
          const limits = {
            deadline,
            timeoutMs,
            maxBytes,
            connectMs: last ? undefined : attemptMs(timeoutMs),
            onConnected: () => failed.connected(target.url, address),
          };
          try {
            return await attempt(target.url, address, init, limits, pool);
          } catch (err) {
            if (!(err instanceof ConnectFailed)) throw err;
            failed.failed(target.url, address);
            if (deadline.aborted) throw err;
            options.log?.debug("outbound connection failed; trying the host's next address", {
              host: target.url.host,
              code: err.code,
              address: address.text,
            });
          }
        }
      } finally {
        release();
      }
    },
    close: () => pool.close(),
  };
}

/**
 * One request to one vetted address: on a pooled socket of that address, and when that socket was closed under it
 * before any answer (StaleSocket), a GET once more on a new connection; a POST fails (see the comment below).
 */
async function attempt(
  url: URL,
  address: PinnedAddress,
  init: OutboundRequest,
  limits: SendLimits,
  pool: AgentPool,
): Promise<OutboundResponse> {
  const agent = pool.agentFor(url, address);
  try {
    return await send(url, address, init, limits, agent, pool);
  } catch (err) {
    if (!(err instanceof StaleSocket)) throw err;
    // A pooled socket closed under the request, before any byte of an answer. Most often the receiver closed it
    // while idle, just before the request reached it; but it looks the same when the receiver read the request
    // and then closed, so only a GET (idempotent) goes once more on a fresh connection. A POST fails: its
    // delivery is retried later under the same message_id, as after any failure.
    if (agent && err.idleMs !== undefined) pool.closedAfterIdle(agent, err.idleMs);
    if (init.method === "GET") return send(url, address, init, limits, false);
    throw new OutboundError(
      "network",
      `request to ${url.host} failed: ${err.message} (a kept-alive connection closed before any ` +
        `answer; not re-sent, as the receiver may have read it)`,
    );
  }
}

/**
 * The time a connection attempt gets when the host has another address to try: a quarter of the request's time,
 * between 250 ms (RFC 8305's attempt delay) and 2 s, so an address that drops connection attempts (a broken IPv6
 * path, a dead server among several) leaves the next one most of the time.
 */
export function attemptMs(timeoutMs: number): number {
  return Math.min(2_000, Math.max(250, Math.floor(timeoutMs / 4)));
}

/** A connection that could not be made (refused, unreachable, not made in time): no byte of the request was sent. */
class ConnectFailed extends OutboundError {
  constructor(readonly code: string, message: string) {
    super("network", message);
  }
}

/** How long an address that could not be connected to goes to the back of its host's list. */
export const FAILED_ADDRESS_MS = 600_000;

/**
 * The addresses of each host (scheme, name and port) that could not be connected to lately: tried after the
 * others for FAILED_ADDRESS_MS (whatever order the resolver gives, round-robin included), so a dead address costs
 * its connection attempt once in a while and not on every call; one that connects again is forgiven at once.
 * Bounded: at most 1,024 hosts, the oldest entry going first.
 */
class FailedAddresses {
  #byHost = new Map<string, Map<string, number>>();

  /** The host's distinct addresses in the resolver's order, those that failed lately last. */
  order(target: VettedTarget): ParsedIpWithText[] {
    const all = target.addresses.filter((a, i) => target.addresses.findIndex((b) => b.text === a.text) === i);
    const failed = this.#byHost.get(hostKey(target.url));
    if (!failed) return all;
    const now = performance.now();
    const lately = (a: ParsedIpWithText) => (failed.get(a.text) ?? -Infinity) > now;
    return [...all.filter((a) => !lately(a)), ...all.filter(lately)];
  }

  failed(url: URL, address: PinnedAddress): void {
    const key = hostKey(url);
    const failed = this.#byHost.get(key) ?? new Map<string, number>();
    this.#byHost.delete(key); // re-inserted last: the map's order is the order of last use
    failed.set(address.text, performance.now() + FAILED_ADDRESS_MS);
    if (failed.size > 64) failed.delete(failed.keys().next().value!);
    this.#byHost.set(key, failed);
    if (this.#byHost.size > 1_024) this.#byHost.delete(this.#byHost.keys().next().value!);
  }

  connected(url: URL, address: PinnedAddress): void {
    const key = hostKey(url);
    const failed = this.#byHost.get(key);
    if (!failed?.delete(address.text)) return;
    if (failed.size === 0) this.#byHost.delete(key);
  }
}

function hostKey(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** A reused keep-alive socket that failed (reset, broken pipe) before any byte of the response. */
class StaleSocket extends Error {
  /** How long the socket had been idle in its pool before this request took it. */
  constructor(code: string, readonly idleMs: number | undefined) {
    super(code);
  }
}

const STALE_CODES = ["ECONNRESET", "EPIPE"];

interface SendLimits {
  deadline: AbortSignal;
  timeoutMs: number;
  maxBytes: number;
  /**
   * Set when the host has another address: the connection must be made within this many ms, and a failure to
   * make it rejects with ConnectFailed (the caller tries the next address) instead of failing the request.
   */
  connectMs?: number;
  /** Called once the connection is made (or a kept-alive one taken). */
  onConnected?: () => void;
}

/**
 * One request over node:http(s), connected to the vetted address only (the custom lookup pins it), on a socket
 * of `agent` (the pool of that address) or a new connection. A response not read to its end destroys its
 * socket, so a half-read socket never goes back to the pool.
 */
function send(
  url: URL,
  address: PinnedAddress,
  init: OutboundRequest,
  limits: SendLimits,
  agent: Agent | false,
  pool?: AgentPool,
): Promise<OutboundResponse> {
  const body = init.body === undefined ? undefined : new TextEncoder().encode(init.body);
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (body) headers["content-length"] = String(body.byteLength);
  const requestFn = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    let answered = false;
    let connected = false;
    let connectTimer: ReturnType<typeof setTimeout> | undefined;
    const fail = (reason: OutboundFailure, message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      req.destroy();
      reject(new OutboundError(reason, message));
    };
    /** No connection was made (only with another address to try): the caller moves on to it. */
    const connectFailed = (code: string, message: string) => {
      settled = true;
      clearTimeout(connectTimer);
      limits.deadline.removeEventListener("abort", onAbort);
      req.destroy();
      reject(new ConnectFailed(code, message));
    };
    const onAbort = () => fail("timeout", `no complete response within ${limits.timeoutMs} ms`);
    const lookup = pinnedLookup(address);
    const via = agent || unpooledAgent(url);
    const req = requestFn(url, { method: init.method, headers, lookup, agent: via }, (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        return fail("redirect", `the server answered ${status} (redirects are not followed)`);
      }
      if (init.statusOnly) {
        settled = true;
        limits.deadline.removeEventListener("abort", onAbort);
        res.destroy();
        return resolve(toResponse(status, res.headers, new Uint8Array()));
      }
      if (init.bodyPrefix !== undefined) return readPrefix(res, init.bodyPrefix);
      const declared = Number(res.headers["content-length"] ?? "0");
      if (declared > limits.maxBytes) {
        return fail(
          "too_large",
          `response declares ${declared} bytes, more than the cap of ${limits.maxBytes}`,
        );
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (chunk: Uint8Array) => {
        size += chunk.byteLength;
        if (size > limits.maxBytes) {
          return fail("too_large", `response exceeds the cap of ${limits.maxBytes} bytes`);
        }
        chunks.push(chunk);
      });
      res.on("error", (err: Error) => fail("network", `response failed: ${errorCode(err)}`));
      res.on("end", () => {
        if (settled) return;
        settled = true;
        limits.deadline.removeEventListener("abort", onAbort);
        resolve(toResponse(status, res.headers, concat(chunks, size)));
      });
    });
    /** The first `max` bytes of the body; the deadline now cuts the body instead of failing the request. */
    const readPrefix = (res: IncomingMessage, max: number) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const done = (truncated: boolean) => {
        if (settled) return;
        settled = true;
        limits.deadline.removeEventListener("abort", onAbort);
        limits.deadline.removeEventListener("abort", cut);
        if (truncated) res.destroy();
        resolve({ ...toResponse(status(res), res.headers, concat(chunks, size)), truncated });
      };
      const cut = () => done(true);
      limits.deadline.removeEventListener("abort", onAbort);
      limits.deadline.addEventListener("abort", cut, { once: true });
      res.on("data", (chunk: Uint8Array) => {
        const room = max - size;
        if (chunk.byteLength >= room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          return done(chunk.byteLength > room || !res.readableEnded);
        }
        chunks.push(chunk);
        size += chunk.byteLength;
      });
      res.on("error", () => done(true));
      res.on("end", () => done(false));
    };
    // Deno's ClientRequest re-sends a request by itself (unlike Node's) whenever its reused keep-alive socket
    // closes before an answer (`_retrying`, one re-send): also after we destroyed it at our deadline, and after
    // the receiver had read it and closed; measured, every timed-out POST on a kept-alive connection reached its
    // receiver twice, ~1 ms apart. Marked as re-sent already, it never is: whether to re-send is decided below.
    (req as { _retrying?: boolean })._retrying = true;
    let idleMs: number | undefined;
    req.on("socket", (socket: { connecting?: boolean; once(event: "connect", f: () => void): void }) => {
      idleMs = req.reusedSocket ? pool?.idleFor(socket) : undefined;
      connected = !socket.connecting;
      if (connected) return limits.onConnected?.();
      socket.once("connect", () => {
        connected = true;
        clearTimeout(connectTimer);
        limits.onConnected?.();
      });
      if (limits.connectMs === undefined) return;
      const ms = limits.connectMs;
      connectTimer = setTimeout(() => {
        if (!settled && !connected) {
          connectFailed("ETIMEDOUT", `no connection to ${url.host} within ${ms} ms`);
        }
      }, ms);
    });
    if (limits.deadline.aborted) return onAbort();
    limits.deadline.addEventListener("abort", onAbort, { once: true });
    // The code only: Node's message names the connected address, which a refusal must not reveal either.
    req.on("error", (err: Error) => {
      const code = errorCode(err);
      if (!settled && !answered && agent && req.reusedSocket && STALE_CODES.includes(code)) {
        settled = true;
        limits.deadline.removeEventListener("abort", onAbort);
        req.destroy();
        return reject(new StaleSocket(code, idleMs));
      }
      if (!settled && !connected && limits.connectMs !== undefined) {
        return connectFailed(code, `request to ${url.host} failed: ${code}`);
      }
      fail("network", `request to ${url.host} failed: ${code}`);
    });
    req.end(body);
  });
}

/** A response body as a JSON object, or undefined when it is not one (receivers' bodies are untrusted). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return parsed && typeof parsed === "object" && !Array.isArray(parsed)
    ? parsed as Record<string, unknown>
    : undefined;
}

function status(res: IncomingMessage): number {
  return res.statusCode ?? 0;
}

function errorCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : err.name;
}

function withDeadline<T>(p: Promise<T>, deadline: AbortSignal, ms: number): Promise<T> {
  if (deadline.aborted) return Promise.reject(new OutboundError("timeout", `timed out after ${ms} ms`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new OutboundError("timeout", `timed out after ${ms} ms`));
    deadline.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => deadline.removeEventListener("abort", onAbort));
  });
}
