/** Generators of size and encoding faults on otherwise valid, signed envelopes. */
import {
  envelopeText,
  type FuzzCase,
  type FuzzContext,
  jsonHeaders,
  pickEndpoint,
  trySign,
  validEnvelope,
} from "./cases.ts";
import type { Rng } from "./prng.ts";

type Obj = Record<string, unknown>;

/** Empty, at-limit, over-limit and chunked bodies. */
export function sizeCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const base: FuzzCase = {
    index,
    category: "size",
    desc: "",
    method: "POST",
    path,
    kind,
    headers: jsonHeaders(ctx.sender),
  };
  const padded = (target: number) => {
    (env.header as Obj).meta = "";
    const probe = envelopeText(trySign(ctx.sender, env), env.header, env.message);
    (env.header as Obj).meta = "x".repeat(Math.max(0, target - new TextEncoder().encode(probe).length));
    return envelopeText(trySign(ctx.sender, env), env.header, env.message);
  };
  switch (r.int(7)) {
    case 0:
      return { ...base, desc: "empty body", body: "" };
    case 1:
      return { ...base, desc: "whitespace body", body: " \n\t ".repeat(r.int(100) + 1) };
    case 2:
      return { ...base, desc: "body exactly at the limit", body: padded(ctx.bodyLimit), authentic: true };
    case 3:
      return {
        ...base,
        desc: "body one byte over the limit",
        body: padded(ctx.bodyLimit + 1),
        authentic: true,
      };
    case 4:
      return { ...base, desc: "body 3x the limit", body: padded(ctx.bodyLimit * 3), authentic: true };
    case 5: {
      const over = r.chance(0.5);
      return {
        ...base,
        desc: `chunked body ${over ? "over" : "under"} the limit`,
        body: padded(over ? ctx.bodyLimit + 100 : 2000),
        chunked: true,
        authentic: true,
      };
    }
    default:
      return { ...base, desc: "truncated JSON", body: padded(3000).slice(0, r.int(2900) + 1) };
  }
}

function utf16(text: string, bigEndian: boolean, bom: boolean): Uint8Array {
  const out = new Uint8Array((text.length + (bom ? 1 : 0)) * 2);
  const dv = new DataView(out.buffer);
  let o = 0;
  if (bom) dv.setUint16((o += 2) - 2, 0xfeff, !bigEndian);
  for (let i = 0; i < text.length; i++) dv.setUint16((o += 2) - 2, text.charCodeAt(i), !bigEndian);
  return out;
}

const BAD_UTF8: readonly number[][] = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [
  0xf8,
  0x88,
  0x80,
  0x80,
], [0x80]];

/** Invalid UTF-8 inside a string (signed over the decoder's U+FFFD), BOMs, UTF-16, NULs, latin-1. */
export function encodingCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const base: FuzzCase = {
    index,
    category: "encoding",
    desc: "",
    method: "POST",
    path,
    kind,
    headers: jsonHeaders(ctx.sender),
  };
  const enc = new TextEncoder();
  const k = r.int(6);
  if (k === 0) {
    const bad = r.pick(BAD_UTF8);
    (env.message as Obj).transaction_id = "a\ufffdb";
    (env.header as Obj).meta = "a\ufffdb";
    const text = envelopeText(trySign(ctx.sender, env), env.header, env.message);
    const parts = text.split("\ufffd").map((p) => enc.encode(p));
    const bytes = [...parts[0], ...bad, ...parts[1], ...bad, ...parts[2]];
    return {
      ...base,
      desc: `invalid UTF-8 ${bad.map((b) => b.toString(16)).join(" ")}`,
      body: new Uint8Array(bytes),
      authentic: true,
    };
  }
  const text = envelopeText(trySign(ctx.sender, env), env.header, env.message);
  if (k === 1) {
    return {
      ...base,
      desc: "UTF-8 BOM",
      body: new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(text)]),
      authentic: true,
    };
  }
  if (k === 2) {
    const be = r.chance(0.5), bom = r.chance(0.5);
    return {
      ...base,
      desc: `UTF-16${be ? "BE" : "LE"}${bom ? " BOM" : ""}`,
      headers: {
        ...base.headers,
        "content-type": r.pick(["application/json", "application/json; charset=utf-16"]),
      },
      body: utf16(text, be, bom),
    };
  }
  if (k === 3) {
    const at = r.int(text.length);
    return {
      ...base,
      desc: `NUL byte at ${at}`,
      body: enc.encode(text.slice(0, at) + "\u0000" + text.slice(at)),
    };
  }
  if (k === 4) {
    (env.header as Obj).meta = "caf\u00e9 \u00fc";
    const t = envelopeText(trySign(ctx.sender, env), env.header, env.message);
    const latin1 = Uint8Array.from(t, (ch) => ch.charCodeAt(0) & 0xff);
    return {
      ...base,
      desc: "latin-1 bytes",
      headers: { ...base.headers, "content-type": "application/json; charset=iso-8859-1" },
      body: latin1,
    };
  }
  (env.header as Obj).meta = r.pick(["\ud800", "\udc00x", "😀\ud83d", "\u0000\u001f"]);
  const escaped = envelopeText(trySign(ctx.sender, env), env.header, env.message);
  return { ...base, desc: "lone surrogate / control escapes", body: escaped, authentic: true };
}
