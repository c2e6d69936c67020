/**
 * Keep-alive connection pools of the outbound client. A socket is only ever reused for the same vetted
 * address: each pool (a node:http(s) Agent) is keyed by scheme, host name (TLS servername and Host), port and
 * the address the SSRF guard vetted, and its connections are pinned to that address by its own lookup. Idle
 * sockets close after `idleMs` (below common servers' keep-alive timeouts, so the server rarely closes first);
 * the number of pools is bounded, least recently used first out.
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
    };
    agent = https ? new HttpsAgent(settings) : new HttpAgent(settings);
    this.#agents.set(key, agent);
    this.#evict(key);
    return agent;
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
