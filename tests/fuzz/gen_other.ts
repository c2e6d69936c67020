/** Generators for paths and methods, raw HTTP framing, the OAuth2 token endpoint and the admin API. */
import {
  type FuzzCase,
  type FuzzContext,
  jsonHeaders,
  MOUNTS,
  pickEndpoint,
  trySign,
  validEnvelope,
} from "./cases.ts";
import { deepNest, junk, NASTY_NUMBERS, NASTY_STRINGS, type Rng } from "./prng.ts";

const enc = new TextEncoder();

function q(r: Rng): string {
  return encodeURIComponent(
    String(r.chance(0.5) ? r.pick(NASTY_STRINGS) : r.pick(NASTY_NUMBERS)).slice(0, 300).toWellFormed(),
  );
}

/** A raw HTTP/1.1 request with lying or broken framing (sent over a socket, not fetch). */
function rawCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const body = JSON.stringify({ signature: trySign(ctx.sender, env), ...env });
  const len = enc.encode(body).length;
  const head = (extra: string) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Authorization: ${ctx.sender.headers().authorization}\r\nConnection: close\r\n${extra}\r\n`;
  const options: Array<[string, () => string | Uint8Array]> = [
    ["Content-Length larger than the body", () => head(`Content-Length: ${len + 50}\r\n`) + body],
    [
      "Content-Length smaller than the body",
      () => head(`Content-Length: ${Math.max(0, len - 20)}\r\n`) + body,
    ],
    [
      "Content-Length garbage",
      () => head(`Content-Length: ${r.pick(["-1", "abc", "1e3", "99999999999999999999"])}\r\n`) + body,
    ],
    ["two Content-Lengths", () => head(`Content-Length: ${len}\r\nContent-Length: ${len + 1}\r\n`) + body],
    ["broken chunked encoding", () => head("Transfer-Encoding: chunked\r\n") + `zz\r\n${body}\r\n0\r\n\r\n`],
    [
      "chunked and Content-Length",
      () =>
        head(`Transfer-Encoding: chunked\r\nContent-Length: ${len}\r\n`) +
        `${len.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    ],
    ["raw latin-1 header bytes", () => {
      const h = enc.encode(head(`Content-Length: ${len}\r\nX-Fuzz: `));
      return new Uint8Array([...h.slice(0, -2), 0xe9, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, ...enc.encode(body)]);
    }],
    ["header without colon", () => head(`Content-Length: ${len}\r\nNoColonHere\r\n`) + body],
  ];
  const [name, make] = r.pick(options);
  const raw = make();
  return {
    index,
    category: "size",
    desc: `raw: ${name}`,
    method: "POST",
    path,
    kind,
    headers: {},
    raw: typeof raw === "string" ? enc.encode(raw) : raw,
  };
}

/** Wrong methods, unknown and odd paths, query strings on registry endpoints. */
export function endpointCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  if (r.chance(0.3)) return rawCase(r, ctx, index);
  const { path, endpoint } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const body = JSON.stringify({ signature: trySign(ctx.sender, env), ...env });
  const odd = [
    () => `${path}?${q(r)}=${q(r)}`,
    () => `${path}/`,
    () => `${path}/extra`,
    () => path.toUpperCase(),
    () => `${r.pick(MOUNTS)}/${encodeURIComponent(r.pick(NASTY_STRINGS).slice(0, 200).toWellFormed())}`,
    () => `/dci_api/v1/${encodeURIComponent(r.pick(["nope", "SOCIAL", "..", "%00"]))}/registry/sync/search`,
    () => `/registry/..%2f..%2fadmin/v1/senders`,
    () => `/${"a/".repeat(r.pick([10, 500]))}`,
    () => `/registry/sync/search%00`,
    () => `/dci_api/v1/openapi.json?${q(r)}`,
    () => `/.well-known/jwks.json`,
    () => `/healthz?x=${q(r)}`,
  ];
  const method = r.chance(0.6) ? "POST" : r.pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
  const p = r.chance(0.4) ? path : r.pick(odd)();
  return {
    index,
    category: "endpoint",
    desc: `${method} ${p.slice(0, 80)}`,
    method,
    path: p,
    kind: "other",
    headers: jsonHeaders(ctx.sender),
    body: method === "GET" || method === "HEAD" ? undefined : body,
  };
}

/** The OAuth2 token endpoint with garbage credentials, grants, bodies and content types. */
export function oauthCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const path = r.pick(["/oauth2/client/token", "/dci_api/v1/oauth2/client/token"]);
  const id = r.chance(0.5) ? ctx.sender.clientId : r.pick(NASTY_STRINGS);
  const secret = r.chance(0.3) ? ctx.sender.clientSecret : r.pick(NASTY_STRINGS);
  const headers: Record<string, string> = {};
  const form = new URLSearchParams();
  form.set("grant_type", r.chance(0.7) ? "client_credentials" : r.pick(NASTY_STRINGS));
  if (r.chance(0.3)) {
    form.set("scope", r.pick(["registry.search", "admin", r.pick(NASTY_STRINGS), "a ".repeat(500)]));
  }
  let body: string | Uint8Array = form.toString();
  let desc: string;
  switch (r.int(6)) {
    case 0:
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers.authorization = `Basic ${btoa(unescape(encodeURIComponent(`${id}:${secret}`.toWellFormed())))}`;
      desc = "form + Basic";
      break;
    case 1:
      headers["content-type"] = "application/x-www-form-urlencoded";
      form.set("client_id", id);
      form.set("client_secret", secret);
      body = form.toString();
      desc = "form credentials";
      break;
    case 2:
      headers["content-type"] = "application/json";
      body = JSON.stringify(
        r.chance(0.7)
          ? { grant_type: form.get("grant_type"), client_id: id, client_secret: junk(r, 0) }
          : junk(r),
      );
      desc = "JSON body";
      break;
    case 3:
      headers["content-type"] = "application/json";
      body = r.pick(["{", "[1,", "\u0000", "", "null", '"x"']);
      desc = "broken JSON";
      break;
    case 4:
      headers.authorization = r.pick([
        "Basic",
        "Basic !!!",
        "Basic " + btoa("nocolon"),
        "Basic " + btoa("%zz:%zz"),
        "Bearer x",
        "Basic " + "A".repeat(10_000),
      ]);
      if (r.chance(0.5)) {
        headers["content-type"] = r.pick([
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data",
        ]);
      }
      desc = "Authorization garbage";
      break;
    default:
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = r.pick([
        "%",
        "a=%zz",
        "&&&=&",
        "grant_type=client_credentials&grant_type=x",
        "x".repeat(70_000),
        new Uint8Array([0xff, 0xfe, 0x3d]),
      ]) as string | Uint8Array;
      desc = "form garbage";
  }
  return { index, category: "oauth", desc, method: "POST", path, kind: "token", headers, body };
}

function adminRoute(r: Rng): [string, string, unknown] {
  const id = encodeURIComponent(
    (r.chance(0.5) ? `fz-${r.int(50)}` : r.pick(NASTY_STRINGS).slice(0, 100)).toWellFormed(),
  ) || "x";
  const qs = r.chance(0.5)
    ? `?${
      r.pick([
        "limit",
        "before",
        "after",
        "offset",
        "state",
        "since",
        "record_type",
        "sender_id",
        "action",
        "status",
      ])
    }=${q(r)}`
    : "";
  const registrant = () =>
    r.chance(0.1) ? deepNest(r, r.pick([100, 3000])) : r.chance(0.4) ? junk(r, 3) : {
      id: `fz-${r.int(50)}`,
      identifier: r.chance(0.5)
        ? [{ identifier_type: junk(r, 0), identifier_value: junk(r, 0) }]
        : junk(r, 1),
      name: r.chance(0.5) ? { given_name: junk(r, 0), surname: r.pick(NASTY_STRINGS) } : junk(r, 1),
      sex: junk(r, 0),
      birth_date: r.pick(["2000-01-01", "2000-02-30", "", "x", "99999-01-01"]),
      record_type: r.pick(["person", "group", "x", null]),
      group_id: junk(r, 0),
      attributes: junk(r, 2),
    };
  const routes: Array<[string, string, unknown]> = [
    ["GET", `/registrants${qs}`, undefined],
    ["GET", `/registrants/${id}`, undefined],
    ["POST", "/registrants", registrant()],
    ["PUT", `/registrants/${id}`, registrant()],
    ["PATCH", `/registrants/${id}`, registrant()],
    ["DELETE", `/registrants/${id}`, undefined],
    ["GET", `/registry/events${qs}`, undefined],
    ["GET", `/senders/${id}`, undefined],
    ["POST", "/senders", {
      sender_id: junk(r, 0),
      name: junk(r, 0),
      callback_base_url: junk(r, 0),
      limit_minute: junk(r, 0),
    }],
    ["PATCH", `/senders/${id}`, {
      name: junk(r, 0),
      jwks_url: junk(r, 0),
      auto_approve_subscriptions: junk(r, 0),
    }],
    ["POST", `/senders/${id}/keys`, {
      key_id: junk(r, 0),
      pem: r.pick(["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "x"]),
      jwk: r.chance(0.5) ? junk(r) : undefined,
    }],
    ["POST", `/senders/${id}/keys`, {
      key_id: "k",
      jwk: {
        kty: r.pick(["OKP", "RSA", "EC", "x"]),
        crv: junk(r, 0),
        x: junk(r, 0),
        n: junk(r, 0),
        e: "AQAB",
      },
    }],
    ["GET", `/senders/${id}/keys`, undefined],
    ["POST", "/clients", { sender_id: junk(r, 0), scopes: junk(r, 1) }],
    ["POST", `/clients/${id}/revoke`, undefined],
    ["GET", `/clients${qs}`, undefined],
    ["GET", `/subscriptions${qs}`, undefined],
    ["GET", `/subscriptions/${id}`, undefined],
    ["POST", `/subscriptions/${id}/${r.pick(["approve", "cancel", "reactivate", "nope"])}`, undefined],
    ["GET", `/notifications${qs}`, undefined],
    ["GET", `/transactions${qs}`, undefined],
    ["GET", `/transactions/${id}`, undefined],
    ["POST", `/transactions/${id}/retry`, undefined],
  ];
  return r.pick(routes);
}

/** The admin API with garbage paths, query strings and bodies; mostly with a valid admin token. */
export function adminCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const [method, path, body] = adminRoute(r);
  const headers: Record<string, string> = { "content-type": "application/json" };
  const auth = r.int(10);
  if (auth < 8) headers.authorization = `Bearer ${ctx.adminToken}`;
  else if (auth === 8) {
    headers.authorization = `Bearer ${
      r.pick(["x", ctx.sender.token, ctx.adminToken + "x", "\u00e9".repeat(10)])
    }`;
  }
  let text = body === undefined ? undefined : JSON.stringify(body);
  if (text !== undefined && r.chance(0.1)) text = text.slice(0, r.int(text.length));
  return {
    index,
    category: "admin",
    desc: `${method} ${path.slice(0, 60)}${auth < 8 ? "" : " (bad admin token)"}`,
    method,
    path: `/admin/v1${path}`,
    kind: "admin",
    headers,
    body: text,
  };
}
