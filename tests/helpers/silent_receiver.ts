/**
 * A loopback endpoint that never answers: it accepts every connection, reads what comes and holds the
 * connection open until the client gives up (or `close()`). The fairness tests and the abuse bench point one
 * sender's callbacks here.
 */

/** A running silent endpoint. */
export interface SilentReceiver {
  port: number;
  url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now (accepted and not yet closed by the client). */
  held(): number;
  /** Connections the client has closed (each one a request it gave up on). */
  closedByClient(): number;
  /** Resolves once `held()` reaches `n` (polling), or rejects after `ms`. */
  waitHeld(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a silent endpoint on 127.0.0.1 (port 0). */
export function startSilentReceiver(): SilentReceiver {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let accepted = 0;
  let closed = 0;
  const hold = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      while (await conn.read(buf) !== null) { /* discard; never answer */ }
      closed++;
    } catch { /* closed by us */ }
    open.delete(conn);
    closeQuietly(conn);
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        open.add(conn);
        void hold(conn);
      }
    } catch { /* listener closed */ }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    held: () => open.size,
    closedByClient: () => closed,
    async waitHeld(n, ms = 20_000) {
      const until = Date.now() + ms;
      while (open.size < n) {
        if (Date.now() > until) throw new Error(`silent receiver: ${open.size} of ${n} connections held`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      listener.close();
      open.forEach(closeQuietly);
      await loop;
    },
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
