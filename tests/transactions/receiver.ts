/**
 * A real loopback callback receiver for end-to-end tests (Deno.serve on 127.0.0.1, port 0). Every callback it
 * gets is checked against the spec yaml of `registry` (default social).
 */
import { checkReceivedText, warmCallbackChecks } from "../helpers/spec_hooks.ts";
import type { SpecRegistry } from "../helpers/spec_validator.ts";

/** One callback the receiver got. */
export interface Received {
  path: string;
  transactionIdHeader: string | null;
  body: Record<string, unknown>;
  status: number;
}

/** A running receiver. */
export interface Receiver {
  port: number;
  url: string;
  received: Received[];
  /** Connections/requests seen, including failed ones. */
  hits: number;
  /** The status to answer next (default 200); a function may vary it per request. */
  respond: (r: Received) => number;
  /** While set, requests wait for it before they are answered (a receiver that hangs, then answers). */
  gate?: Promise<unknown>;
  /** Resolves when `pred` holds for the received list (polling), or rejects after `ms`. */
  waitFor(pred: (received: Received[]) => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a receiver, on `port` if given (to bring a "down" receiver back up on its old port). */
export function startReceiver(
  options: { port?: number; delayMs?: number; registry?: SpecRegistry } = {},
): Receiver {
  warmCallbackChecks(options.registry);
  const received: Received[] = [];
  const r: Receiver = {
    port: 0,
    url: "",
    received,
    hits: 0,
    respond: () => 200,
    async waitFor(pred, ms = 20_000) {
      const until = Date.now() + ms;
      while (!pred(received)) {
        if (Date.now() > until) {
          throw new Error(`receiver: condition not met within ${ms} ms (${received.length} received)`);
        }
        await new Promise((res) => setTimeout(res, 25));
      }
    },
    close: async () => {
      await server.shutdown();
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (req) => {
      r.hits++;
      const text = await req.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch { /* recorded as empty */ }
      checkReceivedText(req.url, text, options.registry);
      const entry: Received = {
        path: new URL(req.url).pathname,
        transactionIdHeader: req.headers.get("x-dci-transaction-id"),
        body,
        status: 0,
      };
      if (r.gate) await r.gate;
      entry.status = r.respond(entry);
      if (options.delayMs) await new Promise((res) => setTimeout(res, options.delayMs));
      received.push(entry);
      return new Response(entry.status < 300 ? '{"message":{"ack_status":"ACK"}}' : "nope", {
        status: entry.status,
      });
    },
  );
  r.port = server.addr.port;
  r.url = `http://127.0.0.1:${r.port}`;
  return r;
}

/** A loopback port that was free a moment ago (nothing listens on it now). */
export async function freePort(): Promise<number> {
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response());
  const port = s.addr.port;
  await s.shutdown();
  return port;
}
