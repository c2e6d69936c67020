/** Generators of malformed transport and trust inputs: signatures, tokens, HTTP headers and content types. */
import { Buffer } from "node:buffer";
import { contentDigest, signHttpRequest } from "../../src/auth/http_signature.ts";
import {
  envelopeText,
  type FuzzCase,
  type FuzzContext,
  jsonHeaders,
  pickEndpoint,
  trySign,
  validEnvelope,
} from "./cases.ts";
import { junk, NASTY_STRINGS, type Rng } from "./prng.ts";

type Obj = Record<string, unknown>;

function b64url(s: string): string {
  return Buffer.from(s).toString("base64url");
}

/** Replaces one parameter of a DCI signature string. */
function swapParam(sig: string, name: string, value: string): string {
  return sig.replace(new RegExp(`${name}="[^"]*"`), `${name}="${value}"`);
}

function dciSignatureGarbage(
  r: Rng,
  ctx: FuzzContext,
  env: { header: unknown; message: unknown },
): [string, unknown] {
  const good = ctx.sender.signature(env);
  const now = Math.floor(Date.now() / 1000);
  const kid = `${ctx.sender.senderId}|${ctx.sender.keyId}|ed25519`;
  const options: Array<[string, () => unknown]> = [
    ["random string", () => r.pick(NASTY_STRINGS)],
    ["non-string signature", () => junk(r)],
    ["created not a number", () => swapParam(good, "created", r.pick(["abc", "", "-1", "1e400", "0x10"]))],
    ["expired", () => swapParam(swapParam(good, "created", String(now - 900)), "expires", String(now - 600))],
    ["created in the future", () => swapParam(good, "created", String(now + 3600))],
    ["window too long", () => swapParam(good, "expires", String(now + 86_400))],
    ["unknown key id", () => swapParam(good, "kidId", `${ctx.sender.senderId}|nope|ed25519`)],
    ["kidId of another sender", () => swapParam(good, "kidId", `${ctx.other.senderId}|k1|ed25519`)],
    [
      "kidId garbage",
      () => swapParam(good, "kidId", r.pick(["", "|||", "a|b", kid + "|x", "\u00e9|k1|ed25519"])),
    ],
    [
      "algorithm garbage",
      () => swapParam(good, "algorithm", r.pick(["none", "rsa-sha256", "hmac-sha256", ""])),
    ],
    [
      "bad base64",
      () => swapParam(good, "signature", r.pick(["!!!", "", "AAAA", "=".repeat(10), "a".repeat(3000)])),
    ],
    [
      "headers garbage",
      () => swapParam(good, "headers", r.pick(["", "digest", "(created)", "(request-target)"])),
    ],
    ["param dropped", () => good.split(", ").filter((_, i, a) => i !== r.int(a.length)).join(", ")],
    ["duplicated params", () => `${good}, ${good}`],
    ["other sender's signature", () => ctx.other.signature(env)],
    ["signature of another body", () => ctx.sender.signature({ header: env.header, message: { x: 1 } })],
    ["truncated", () => good.slice(0, r.int(good.length))],
  ];
  const [name, make] = r.pick(options);
  return [name, make()];
}

function httpSignatureGarbage(
  r: Rng,
  ctx: FuzzContext,
  url: string,
  body: string,
): [string, Record<string, string>] {
  const created = Math.floor(Date.now() / 1000);
  const base = {
    "content-type": "application/json",
    ...ctx.sender.headers(),
    "content-digest": contentDigest(body),
  };
  const signed = (components: string[], opts: Obj = {}, headers: Record<string, string> = base) => {
    const s = signHttpRequest({ method: "POST", url, headers: new Headers(headers) }, ctx.sender.privateKey, {
      keyId: ctx.sender.keyId,
      components,
      created,
      ...opts,
    });
    return { ...headers, "signature-input": s.signatureInput, signature: s.signature };
  };
  const full = ["@method", "@target-uri", "content-digest"];
  const options: Array<[string, () => Record<string, string>]> = [
    ["valid RFC 9421", () => signed(full)],
    [
      "Signature-Input garbage",
      () => ({ ...signed(full), "signature-input": r.pick(NASTY_STRINGS.filter(ascii)) }),
    ],
    [
      "Signature garbage",
      () => ({
        ...signed(full),
        signature: r.pick(["sig1=:!!:", "sig1=abc", "x", "sig1=::", "sig2=:AAAA:"]),
      }),
    ],
    ["wrong content-digest", () => signed(full, {}, { ...base, "content-digest": contentDigest("other") })],
    [
      "content-digest garbage",
      () => ({
        ...signed(full),
        "content-digest": r.pick(["sha-256=:x:", "md5=:AA==:", "", "sha-256=AAAA"]),
      }),
    ],
    ["missing content-digest component", () => signed(["@method", "@path"])],
    ["missing @method", () => signed(["@target-uri", "content-digest"])],
    ["covered header not sent", () => {
      const h: Record<string, string> = signed([...full, "x-nope"], {}, { ...base, "x-nope": "1" });
      delete h["x-nope"];
      return h;
    }],
    ["created in the future", () => signed(full, { created: created + 3600 })],
    ["unknown keyid", () => signed(full, { keyId: "nope" })],
    ["alg garbage", () => {
      const h = signed(full);
      const alg = r.pick(["hmac-sha256", "none", "rsa-pss-sha512", "rsa-v1_5-sha256"]);
      return { ...h, "signature-input": h["signature-input"] + `;alg="${alg}"` };
    }],
    ["only Signature header", () => ({ ...base, signature: "sig1=:AAAA:" })],
  ];
  const [name, make] = r.pick(options);
  return [name, make()];
}

function ascii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** Malformed DCI envelope signatures and RFC 9421 Signature/Signature-Input headers (valid token). */
export function signatureCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const base = { index, category: "signature" as const, method: "POST", path, kind };
  if (r.chance(0.6)) {
    const [name, sig] = dciSignatureGarbage(r, ctx, env);
    return {
      ...base,
      desc: `DCI: ${name}`,
      headers: jsonHeaders(ctx.sender),
      body: envelopeText(sig, env.header, env.message),
    };
  }
  const body = JSON.stringify({ header: env.header, message: env.message });
  const [name, headers] = httpSignatureGarbage(r, ctx, ctx.url + path, body);
  return { ...base, desc: `RFC 9421: ${name}`, headers, body, authentic: name === "valid RFC 9421" };
}

function garbleJwt(r: Rng, token: string): string {
  const [h, p, s] = token.split(".");
  const options = [
    () => `${h}.${p}`,
    () => `${h}.${p}.${s}.${s}`,
    () => `${h}.${p}.${s.slice(0, -4)}AAAA`,
    () => `${b64url('{"alg":"none","typ":"JWT"}')}.${p}.`,
    () => `${b64url('{"alg":"none"}')}.${p}.${s}`,
    () => `${b64url('{"alg":"HS256","kid":"x"}')}.${p}.${s}`,
    () =>
      `${h}.${
        b64url(
          JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), scope: "admin", sub: "x" }),
        )
      }.${s}`,
    () => `${h}.${b64url("not json")}.${s}`,
    () => `${b64url(r.pick(NASTY_STRINGS))}.${b64url(JSON.stringify(junk(r)))}.${s}`,
    () => token.replace(/[A-Za-z]/, (c) => (c === "A" ? "B" : "A")),
    () => token + "=",
    () => token.split("").reverse().join(""),
    () => "a".repeat(r.pick([1, 100, 10_000])),
  ];
  return r.pick(options)();
}

/** Garbled JWTs, alg none, wrong signature, expired, another sender's token, wrong scope, bad schemes. */
export function tokenCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const options: Array<[string, () => string | undefined]> = [
    ["missing", () => undefined],
    ["garbled JWT", () => `Bearer ${garbleJwt(r, ctx.sender.token)}`],
    ["expired", () => `Bearer ${ctx.expiredToken}`],
    ["another sender's token", () => `Bearer ${ctx.other.token}`],
    ["token without the scope", () => `Bearer ${ctx.narrow.token}`],
    [
      "scheme garbage",
      () =>
        r.pick([
          "Bearer",
          "Bearer ",
          "bearer " + ctx.sender.token,
          "Basic Zm9vOmJhcg==",
          `Bearer  ${ctx.sender.token}`,
          `Token ${ctx.sender.token}`,
        ]),
    ],
    ["latin-1 bytes", () => `Bearer \u00e9\u00ff${ctx.sender.token}`],
    ["two tokens", () => `Bearer ${ctx.sender.token}, Bearer ${ctx.other.token}`],
  ];
  const [name, make] = r.pick(options);
  const auth = make();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== undefined) headers.authorization = auth;
  return {
    index,
    category: "token",
    desc: name,
    method: "POST",
    path,
    kind,
    headers,
    body: envelopeText(trySign(ctx.sender, env), env.header, env.message),
  };
}

/** Odd, non-ASCII, huge and numerous HTTP headers on an otherwise valid signed request. */
export function headerCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const headers = jsonHeaders(ctx.sender);
  const options: Array<[string, () => void]> = [
    ["latin-1 X-Request-ID", () => headers["x-request-id"] = "r\u00e9q\u00ff"],
    ["long X-Request-ID", () => headers["x-request-id"] = "a".repeat(5000)],
    ["huge header 16 KiB", () => headers["x-fuzz"] = "h".repeat(16 * 1024)],
    ["huge header 300 KiB", () => headers["x-fuzz"] = "h".repeat(300 * 1024)],
    ["200 headers", () => {
      for (let i = 0; i < 200; i++) headers[`x-f${i}`] = String(i);
    }],
    ["garbage signature-input only", () => headers["signature-input"] = "sig1=();created=1"],
    ["content-digest without signature", () => headers["content-digest"] = "sha-256=:AAAA:"],
    ["odd accept", () => headers.accept = r.pick(["application/xml", "*/*;q=0", "\u00e9"])],
    [
      "forwarded garbage",
      () => headers["x-forwarded-for"] = r.pick(["::1, 10.0.0.1", "\u00ff", "a".repeat(1000)]),
    ],
    ["content-encoding gzip (not gzipped)", () => headers["content-encoding"] = "gzip"],
    ["expect 100-continue", () => headers.expect = "100-continue"],
  ];
  const [name, apply] = r.pick(options);
  apply();
  return {
    httpLayer: name === "huge header 300 KiB" || name === "200 headers",
    index,
    category: "header",
    desc: name,
    method: "POST",
    path,
    kind,
    headers,
    body: envelopeText(trySign(ctx.sender, env), env.header, env.message),
    authentic: true,
  };
}

const CONTENT_TYPES = [
  undefined,
  "",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json;charset=UTF-8;foo=bar",
  "application/dci+json",
  "application/jsonx",
  "application/json\u00e9",
  "json",
  "application/",
  "; application/json",
  "application/json, text/plain",
  "a".repeat(3000),
];

/** Content-Type variants on an otherwise valid signed request. */
export function contentTypeCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const type = r.pick(CONTENT_TYPES);
  const headers: Record<string, string> = { ...ctx.sender.headers() };
  if (type !== undefined) headers["content-type"] = type;
  return {
    index,
    category: "content_type",
    desc: `Content-Type ${JSON.stringify(type)?.slice(0, 60)}`,
    method: "POST",
    path,
    kind,
    headers,
    body: envelopeText(trySign(ctx.sender, env), env.header, env.message),
    authentic: true,
  };
}
