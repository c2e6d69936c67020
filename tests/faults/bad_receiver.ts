/**
 * A misbehaving loopback HTTP receiver on a raw TCP listener, so it can do what Deno.serve will not: never
 * answer, reset the connection, or stream a huge body. The behaviour is chosen per request by path. Every
 * request body it reads whole is checked against the spec (social) as a callback or notification.
 */
import { checkReceivedText, warmCallbackChecks } from "../helpers/spec_hooks.ts";

/** What the receiver does with one request. */
export type Behaviour =
  | { kind: "ok" }
  | { kind: "hang" }
  | { kind: "slow"; ms: number }
  | { kind: "status"; status: number }
  | { kind: "reset" }
  | { kind: "huge"; status: number; bytes: number };

/** A running receiver. `hits` counts requests by path; `behave` decides per path and hit number (1-based). */
export interface BadReceiver {
  url: string;
  hits: Map<string, number>;
  /** Completed request bodies by path (a hung or reset request is not completed). */
  bodies: Map<string, string[]>;
  behave: (path: string, hit: number) => Behaviour;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const CRLF2 = "\r\n\r\n";

async function readRequest(conn: Deno.Conn): Promise<{ path: string; body: string } | undefined> {
  const buf = new Uint8Array(65536);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return undefined;
    text += new TextDecoder().decode(buf.subarray(0, n));
    const end = text.indexOf(CRLF2);
    if (end < 0) continue;
    const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (enc.encode(text.slice(end + 4)).length >= len) {
      return { path: text.split(" ")[1] ?? "/", body: text.slice(end + 4) };
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let o = 0; o < data.length;) o += await conn.write(data.subarray(o));
}

async function answer(conn: Deno.Conn, b: Behaviour, signal: AbortSignal): Promise<void> {
  const ack = '{"message":{"ack_status":"ACK"}}';
  const head = (status: number, length: number) =>
    enc.encode(
      `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n`,
    );
  switch (b.kind) {
    case "hang":
      await new Promise<void>((res) => signal.addEventListener("abort", () => res(), { once: true }));
      return;
    case "reset":
      return; // closed without a byte: the client sees a socket hang up / reset
    case "slow":
      await new Promise((res) => setTimeout(res, b.ms));
      return await writeAll(conn, new Uint8Array([...head(200, ack.length), ...enc.encode(ack)]));
    case "huge": {
      await writeAll(conn, head(b.status, b.bytes));
      const chunk = enc.encode("x".repeat(64 * 1024));
      for (let sent = 0; sent < b.bytes && !signal.aborted; sent += chunk.length) {
        await writeAll(conn, chunk.subarray(0, Math.min(chunk.length, b.bytes - sent)));
      }
      return;
    }
    default: {
      const status = b.kind === "status" ? b.status : 200;
      return await writeAll(conn, new Uint8Array([...head(status, ack.length), ...enc.encode(ack)]));
    }
  }
}

/** Starts a receiver on 127.0.0.1 (port 0). */
export function startBadReceiver(behave: BadReceiver["behave"] = () => ({ kind: "ok" })): BadReceiver {
  warmCallbackChecks();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stop = new AbortController();
  const open = new Set<Deno.Conn>();
  const r: BadReceiver = {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    hits: new Map(),
    bodies: new Map(),
    behave,
    close: async () => {
      stop.abort();
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* gone */ }
      }
      await loop;
    },
  };
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    try {
      const req = await readRequest(conn);
      if (!req) return;
      const hit = (r.hits.get(req.path) ?? 0) + 1;
      r.hits.set(req.path, hit);
      const b = r.behave(req.path, hit);
      if (b.kind !== "hang" && b.kind !== "reset") {
        r.bodies.set(req.path, [...(r.bodies.get(req.path) ?? []), req.body]);
      }
      checkReceivedText(req.path, req.body);
      await answer(conn, b, stop.signal);
    } catch {
      /* the client went away */
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) void serve(conn);
    } catch { /* closed */ }
  })();
  return r;
}
