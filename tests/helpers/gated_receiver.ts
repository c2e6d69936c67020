/**
 * A loopback receiver for outbound slot tests: a request to `/hang` waits until `open()` (it holds its outbound
 * slot), every other one is ACKed after `delayMs` and recorded, so a test sees what arrived, how often and in
 * which order.
 */
import type { OutboundClient } from "../../src/net/outbound.ts";

/** One delivery the receiver answered. */
export interface GatedDelivery {
  path: string;
  /** X-DCI-Notification-ID or X-DCI-Transaction-ID. */
  id: string | null;
  body: Record<string, unknown>;
}

/** A running gated receiver. */
export interface GatedReceiver {
  url: string;
  /** Requests by path, counted on arrival. */
  hits: Map<string, number>;
  /** Deliveries (every path but `/hang`), in the order they arrived. */
  delivered: GatedDelivery[];
  /** How long each delivery waits before its ACK. */
  delayMs: number;
  /** Lets the requests to `/hang` (and later ones) be answered. */
  open(): void;
  close(): Promise<void>;
}

/** Starts a gated receiver on 127.0.0.1 (port 0). */
export function startGatedReceiver(options: { delayMs?: number } = {}): GatedReceiver {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const ack = JSON.stringify({ message: { ack_status: "ACK" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const text = await req.text();
    const path = new URL(req.url).pathname;
    r.hits.set(path, (r.hits.get(path) ?? 0) + 1);
    if (path === "/hang") await gate;
    else {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch { /* recorded as empty */ }
      const id = req.headers.get("x-dci-notification-id") ?? req.headers.get("x-dci-transaction-id");
      r.delivered.push({ path, id, body });
      if (r.delayMs > 0) await new Promise((res) => setTimeout(res, r.delayMs));
    }
    return new Response(ack, { headers: { "content-type": "application/json" } });
  });
  const r: GatedReceiver = {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: new Map(),
    delivered: [],
    delayMs: options.delayMs ?? 0,
    open: () => open(),
    close: async () => {
      open();
      await server.shutdown();
    },
  };
  return r;
}

/**
 * Sends a request to `rx`'s `/hang` through `http` and waits until it arrives: it holds its outbound slot until
 * `rx.open()`. `done` settles with its HTTP status (0 when it failed), never rejecting.
 */
export async function holdSlot(http: OutboundClient, rx: GatedReceiver): Promise<{ done: Promise<number> }> {
  const before = rx.hits.get("/hang") ?? 0;
  let settled = false;
  const done = http.request(`${rx.url}/hang`, { method: "POST", body: "{}", timeoutMs: 60_000 })
    .then((res) => res.status, () => 0)
    .finally(() => settled = true);
  while ((rx.hits.get("/hang") ?? 0) === before && !settled) await new Promise((r) => setTimeout(r, 10));
  return { done };
}
