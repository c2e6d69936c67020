/**
 * A JSON document served many times unchanged (locations.json, openapi.json): serialised and gzipped once, each
 * request answered with the bytes in the encoding it accepts, so a request costs no serialising or compressing.
 */
import type { Context } from "hono";

/** A document's JSON bytes and their gzip. */
export interface Precompressed {
  json: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
}

/** `doc` serialised and gzipped. */
export async function precompress(doc: unknown): Promise<Precompressed> {
  const json = new TextEncoder().encode(JSON.stringify(doc));
  const stream = new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"));
  const gzip = new Uint8Array(await new Response(stream).arrayBuffer());
  return { json, gzip };
}

/** Accept-Encoding lists gzip without `q=0`. */
function acceptsGzip(header: string | undefined): boolean {
  return header?.split(",").some((item) => {
    const [coding, ...params] = item.split(";").map((x) => x.trim().toLowerCase());
    return coding === "gzip" && !params.some((p) => /^q=0(\.0{0,3})?$/.test(p));
  }) ?? false;
}

/** A 200 with `doc` as JSON, gzipped when the request accepts it (headers set before stay). */
export function sendPrecompressed(c: Context, doc: Precompressed): Response {
  c.header("Vary", "Accept-Encoding");
  c.header("Content-Type", "application/json");
  if (acceptsGzip(c.req.header("accept-encoding"))) {
    c.header("Content-Encoding", "gzip");
    return c.body(doc.gzip, 200);
  }
  return c.body(doc.json, 200);
}
