/** The response an outbound call settles with, built from what node:http gave (src/net/outbound.ts). */
import type { OutboundResponse } from "./outbound.ts";

/** A node:http response as an OutboundResponse: its status, its headers as `Headers`, and the bytes read. */
export function toResponse(
  status: number,
  raw: Record<string, string | string[] | undefined>,
  body: Uint8Array,
): OutboundResponse {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  return { status, headers, body, text: () => new TextDecoder().decode(body) };
}

/** The chunks read, as one array of `size` bytes. */
export function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
