/**
 * Keep-alive connection pools of the outbound client. A socket is only ever reused for the same vetted
 * address: each pool (a node:http(s) Agent) is keyed by scheme, host name (TLS servername and Host), port and
 * the address the SSRF guard vetted, and its connections are pinned to that address by its own lookup. Idle
 * sockets close after `idleMs` (below common servers' keep-alive timeouts, so the server rarely closes first), or
 * sooner where the receiver says so (`Keep-Alive: timeout=N`, honoured by the runtime's agent) or was seen to
 * close an idle connection under us (`closedAfterIdle`); the number of pools is bounded, least recently used first
 * out.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { LookupFunction } from "node:net";

/** An address the guard vetted. */
export interface PinnedAddress {
  text: string;
  family: 4 | 6;
}

/** The bounds of the pools. */
export interface AgentPoolOptions {
  /** Idle sockets are closed after this long; 0 turns keep-alive off (a new connection per request). */
  idleMs: number;
  /** Sockets per pool (in use and idle), as the fair slots allow per destination. */
  socketsPerAgent: number;
  /** Pools kept; the least recently used one without a request in flight goes first. */
  maxAgents: number;
}

/**
 * No proxy from the environment, on every agent the client uses: with NODE_USE_ENV_PROXY (or --use-env-proxy) and
 * HTTP(S)_PROXY set, the runtime would send each request through that proxy, which resolves the receiver's name
 * itself, so the connection would not go to the address the guard vetted (an agent's own `proxyEnv` wins over
 * the environment's; an empty one is no proxy).
 */
const NO_ENV_PROXY = { proxyEnv: {} };

/** An agent of one request without keep-alive: what `agent: false` makes, without the environment's proxy. */
export function unpooledAgent(url: URL): HttpAgent {
  return url.protocol === "https:"
    ? new HttpsAgent({ keepAlive: false, ...NO_ENV_PROXY })
    : new HttpAgent({ keepAlive: false, ...NO_ENV_PROXY });
}

/** A lookup that answers every name with the vetted address only: the connection cannot go elsewhere. */
export function pinnedLookup(address: PinnedAddress): LookupFunction {
  return (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) {
      (cb as unknown as (e: null, a: unknown[]) => void)(null, [{
        address: address.text,
        family: address.family,
      }]);
    } else cb(null, address.text, address.family);
  };
}

/** The keep-alive pools of one outbound client (see the module comment). */
export class AgentPool {
  #agents = new Map<string, HttpAgent>();
  #closed = false;
  /** When each pooled socket last went idle (performance.now()). */
  #idleSince = new WeakMap<object, number>();

  constructor(readonly options: AgentPoolOptions) {}

  /** Pools open now (tests and metrics). */
  get size(): number {
    return this.#agents.size;
  }

  /** The pool for `url` connected to `address`, or false when keep-alive is off (one connection per request). */
  agentFor(url: URL, address: PinnedAddress): HttpAgent | false {
    if (this.options.idleMs <= 0 || this.#closed) return false;
    const https = url.protocol === "https:";
    const port = url.port || (https ? "443" : "80");
    const key = `${url.protocol}//${url.hostname}:${port}\n${address.text}`;
    let agent = this.#agents.get(key);
    if (agent) {
      // Map order is the LRU order: a used pool moves to the end.
      this.#agents.delete(key);
      this.#agents.set(key, agent);
      return agent;
    }
    const sockets = this.options.socketsPerAgent;
    const settings = {
      keepAlive: true,
      maxSockets: sockets,
      maxFreeSockets: sockets,
      // An idle pooled socket times out and is closed after this (the agent sets it on every free socket).
      timeout: this.options.idleMs,
      // The most recently used socket first, so surplus sockets go idle and close.
      scheduling: "lifo" as const,
      lookup: pinnedLookup(address),
      ...NO_ENV_PROXY,
    };
    agent = https ? new HttpsAgent(settings) : new HttpAgent(settings);
    agent.on("free", (socket: object) => this.#idleSince.set(socket, performance.now()));
    this.#agents.set(key, agent);
    this.#evict(key);
    return agent;
  }

  /** How long `socket` has been idle in its pool (call it as a request takes the socket); undefined: never idle. */
  idleFor(socket: object): number | undefined {
    const since = this.#idleSince.get(socket);
    return since === undefined ? undefined : performance.now() - since;
  }

  /**
   * A socket of `agent` that had been idle `idleMs` was closed by its receiver as a request went out on it: the
   * receiver closes idle connections sooner than we keep them (without saying so). From now on this pool keeps
   * idle sockets half as long at most, so a request seldom meets that race again (it cannot tell whether the
   * receiver had read the request, so it is not re-sent).
   */
  closedAfterIdle(agent: HttpAgent, idleMs: number): void {
    // `options` is the agent's own record of its settings (untyped): keepSocketAlive reads its timeout.
    const options = (agent as unknown as { options: { timeout?: number } }).options;
    // Never 0: to the agent that means no idle timeout at all.
    const shorter = Math.max(1, Math.floor(idleMs / 2));
    if (shorter < (options.timeout ?? Infinity)) options.timeout = shorter;
  }

  /** Closes every pooled socket and refuses pooling from now on (the server is stopping). */
  close(): void {
    this.#closed = true;
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  /** Over the cap: closes the least recently used pools with no request in flight (never `keep`, the new one). */
  #evict(keep: string): void {
    for (const [key, agent] of this.#agents) {
      if (this.#agents.size <= this.options.maxAgents) return;
      if (key === keep || busy(agent.sockets) || busy(agent.requests)) continue;
      agent.destroy();
      this.#agents.delete(key);
    }
  }
}

function busy(lists: Record<string, unknown[] | undefined>): boolean {
  return Object.values(lists).some((list) => (list?.length ?? 0) > 0);
}
