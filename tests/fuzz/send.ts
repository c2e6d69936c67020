/** Sends one fuzz case: by fetch (optionally chunked) or as raw bytes over a TCP socket. */
import type { FuzzCase } from "./cases.ts";

/** What came back. `error` is set when no HTTP answer arrived (connection refused, reset, timeout). */
export interface Answer {
  status: number;
  text: string;
  json?: Record<string, unknown>;
  error?: string;
  /** The status line and headers as received (raw sends only). */
  head?: string;
}

function parse(status: number, text: string, error?: string): Answer {
  let json: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object") json = v;
  } catch { /* not JSON */ }
  return { status, text, json, error };
}

/** Sends a case and returns the answer; never throws. */
export async function send(baseUrl: string, c: FuzzCase): Promise<Answer> {
  if (c.raw) return await sendRaw(new URL(baseUrl), c.raw);
  let body: BodyInit | undefined = c.body as BodyInit | undefined;
  if (c.chunked && c.body !== undefined) {
    const bytes = typeof c.body === "string" ? new TextEncoder().encode(c.body) : c.body;
    body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < bytes.length; i += 4096) ctrl.enqueue(bytes.slice(i, i + 4096));
        ctrl.close();
      },
    });
  }
  try {
    const res = await fetch(baseUrl + c.path, {
      method: c.method,
      headers: c.headers,
      body,
      signal: AbortSignal.timeout(15_000),
    });
    return parse(res.status, await res.text());
  } catch (err) {
    return { status: 0, text: "", error: String((err as Error)?.message ?? err).slice(0, 200) };
  }
}

function dechunk(body: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  const dec = new TextDecoder();
  while (i < body.length) {
    const eol = body.indexOf(0x0a, i);
    if (eol < 0) break;
    const size = parseInt(dec.decode(body.slice(i, eol)).trim(), 16);
    if (!size) break;
    out.push(...body.slice(eol + 1, eol + 1 + size));
    i = eol + 1 + size + 2;
  }
  return new Uint8Array(out);
}

/** Writes raw request bytes, half-closes, and reads the answer until EOF (3 s at most). Never throws. */
export async function sendRaw(url: URL, raw: Uint8Array): Promise<Answer> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), 3000);
  try {
    conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    for (let o = 0; o < raw.length;) o += await conn.write(raw.subarray(o));
    await conn.closeWrite();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) all.set(c, (o += c.length) - c.length);
    const split = all.findIndex((_, i) =>
      all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10
    );
    const head = new TextDecoder().decode(split < 0 ? all : all.slice(0, split));
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) return { status: 0, text: head.slice(0, 200), error: "no HTTP status line" };
    let body: Uint8Array = split < 0 ? new Uint8Array() : all.slice(split + 4);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) body = dechunk(body);
    return { ...parse(Number(m[1]), new TextDecoder().decode(body)), head };
  } catch (err) {
    return { status: 0, text: "", error: String((err as Error)?.message ?? err).slice(0, 200) };
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}
