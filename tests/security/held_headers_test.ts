/**
 * What held (issue 11): header injection is refused. What a client sends never reaches a header the server
 * emits unless it is a well-formed token: an incoming X-Request-ID is echoed only when it is one (else a fresh
 * id), WWW-Authenticate is a fixed challenge whatever the credentials were, control characters (CR, LF, NUL)
 * sent raw on the socket never come back as a header, and an id that goes out as X-DCI-Transaction-ID or a URL
 * that carries CR/LF never splits the callback request. (tests/security/ids_test.ts refuses such ids at accept.)
 */
import assert from "node:assert/strict";
import { withTestDeps } from "../helpers/deps.ts";
import { harness, type Json, searchMessage } from "../transactions/support.ts";
import { sendRaw } from "../fuzz/send.ts";
import { createApp } from "../helpers/app.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What an echoed X-Request-ID may be: a fresh UUID or a plain token (src/http/middleware.ts). */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const enc = new TextEncoder();

/** The header names of a raw response head (status line excluded), lower-cased. */
function headerNames(head: string): string[] {
  return head.split("\r\n").slice(1).map((l) => l.split(":")[0].trim().toLowerCase());
}

Deno.test("held: an incoming X-Request-ID is echoed only when it is a plain token; anything else gets a fresh id", () =>
  withTestDeps({}, async (deps) => {
    const app = createApp(deps);
    const echo = async (id: string) =>
      (await app.request("/healthz", { headers: { "x-request-id": id } }))
        .headers.get("x-request-id");
    assert.equal(await echo("req-1.2:3_4"), "req-1.2:3_4");
    for (const id of ["a b", "a\tb", "r\u00e9q", "a,b", 'a"b', "a;b=c", "x".repeat(65), "\u00ff\u00fe"]) {
      assert.match(String(await echo(id)), UUID, JSON.stringify(id));
    }
  }));

Deno.test("held: WWW-Authenticate is a fixed challenge, whatever the credentials held", () =>
  withTestDeps({}, async (deps) => {
    const app = createApp(deps);
    const hostile = [
      'Bearer a", error="invalid_token", realm="evil',
      "Bearer x, Basic realm=evil",
      "Basic " + btoa('id":x, error="y'),
      "Bearer " + "A".repeat(5000),
    ];
    for (const authorization of hostile) {
      const headers = { authorization, "content-type": "application/json" };
      const registry = await app.request("/registry/sync/search", { method: "POST", headers, body: "{}" });
      assert.equal(registry.status, 401, authorization);
      assert.equal(registry.headers.get("www-authenticate"), 'Bearer realm="dci"');
      const admin = await app.request("/admin/v1/senders", { headers });
      assert.equal(admin.status, 401);
      assert.equal(admin.headers.get("www-authenticate"), 'Bearer realm="dci"');
      const token = await app.request("/oauth2/client/token", {
        method: "POST",
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=client_credentials",
      });
      if (token.status === 401) {
        assert.equal(token.headers.get("www-authenticate"), 'Basic realm="dci"');
      } else assert.equal(token.status, 400, `${authorization}: ${token.status}`);
    }
  }));

Deno.test("held: CR, LF and NUL sent raw in a header or the path never come back as a header", () =>
  withTestDeps({}, async (deps) => {
    const app = createApp(deps);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => app.fetch(req, info),
    );
    const url = new URL(`http://127.0.0.1:${server.addr.port}/`);
    try {
      const request = (path: string, extra: string) =>
        enc.encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
      const cases: Array<[string, Uint8Array]> = [
        ["NUL in X-Request-ID", request("/healthz", "X-Request-ID: a\u0000X-Injected: 1\r\n")],
        ["bare CR in X-Request-ID", request("/healthz", "X-Request-ID: a\rX-Injected: 1\r\n")],
        ["bare LF in X-Request-ID", request("/healthz", "X-Request-ID: a\nX-Injected: 1\r\n")],
        ["obs-fold in X-Request-ID", request("/healthz", "X-Request-ID: a\r\n X-Injected: 1\r\n")],
        ["raw bytes over 0x7f", Uint8Array.of(...request("/healthz", "X-Request-ID: r\u00e9q\r\n"))],
        [
          "NUL in Authorization",
          request("/admin/v1/senders", "Authorization: Bearer a\u0000X-Injected: 1\r\n"),
        ],
        ["encoded CRLF in the path", request("/registry/%0d%0aX-Injected:%201", "")],
        ["encoded NUL in the path", request("/admin/v1/senders/a%00X-Injected", "")],
      ];
      for (const [name, raw] of cases) {
        const answer = await sendRaw(url, raw);
        // The server (or Deno's HTTP parser before it) refuses or answers; either way, nothing is reflected.
        assert.ok(
          answer.status >= 200 && answer.status < 500,
          `${name}: ${answer.status} ${answer.error ?? ""}`,
        );
        const names = headerNames(answer.head ?? "");
        assert.ok(!names.includes("x-injected"), `${name}: ${answer.head}`);
        assert.ok(!(answer.head ?? "").includes("\u0000"), name);
        assert.doesNotMatch(answer.head ?? "", /X-Injected/i, name);
        const rid = /\r\nx-request-id: ([^\r\n]*)/i.exec(answer.head ?? "")?.[1];
        // A bare LF ends a header line (RFC 9112 lets parsers accept it): "a" arrives as its own, valid id.
        if (rid !== undefined) assert.match(rid, SAFE_ID, name);
      }
      // The listener still answers.
      const ok = await sendRaw(url, request("/healthz", "X-Request-ID: fine-1\r\n"));
      assert.equal(ok.status, 200);
      assert.match(ok.head ?? "", /\r\nx-request-id: fine-1\r\n/i);
    } finally {
      await server.shutdown();
    }
  }));

Deno.test("held: a stored id or a URL with CR/LF never splits a callback request", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  const seen: Array<{ path: string; names: string[] }> = [];
  const rx = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push({ path: new URL(req.url).pathname, names: [...req.headers.keys()] });
    return new Response("{}");
  });
  try {
    h.deps.http = createOutboundClient(h.deps.config);
    const base = `http://127.0.0.1:${rx.addr.port}`;
    // A URL parser drops CR, LF and tab, so a sender_uri carrying them is one URL, not a header.
    const viaUri = await h.post("/registry/search", searchMessage("t-uri"), {
      senderUri: `${base}/cb\r\nX-Injected: 1`,
    });
    assert.equal(viaUri.status, 202, JSON.stringify(viaUri.body));
    // A row stored before accept refused such ids: delivered, without the id header rather than with it split.
    const old = await h.post("/registry/search", searchMessage("t-old"), { senderUri: `${base}/cb` });
    await h.deps.sql("UPDATE transactions SET transaction_id = ? WHERE correlation_id = ?", [
      "t-old\r\nX-Injected: 1",
      (old.body.message as Json).correlation_id,
    ]);
    await h.drain();
    for (const r of [viaUri, old]) {
      assert.equal(
        (await h.deps.storage.transactions.getByCorrelationId((r.body.message as Json).correlation_id))!
          .state,
        "callback_sent",
      );
    }
    assert.equal(seen.length, 2);
    for (const s of seen) {
      assert.ok(!s.names.includes("x-injected"), JSON.stringify(s));
      assert.doesNotMatch(s.path, /[\r\n]/);
    }
    assert.deepEqual(seen.map((s) => s.names.includes("x-dci-transaction-id")).sort(), [false, true]);
  } finally {
    await rx.shutdown();
    h.close();
  }
});
