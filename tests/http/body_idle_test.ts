/**
 * A request body that stops arriving is refused with 408 err.request.timeout after DCI_BODY_IDLE_TIMEOUT_MS
 * (Deno.serve has no body timeout of its own), on the in-process app and through the real server.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { startServerProcess } from "../helpers/server.ts";
import { LOGIN_COOKIE } from "../../src/console/cookies.ts";
import { watchBodyIdle, WATCHED_FROM_BYTES } from "../../src/http/middleware.ts";

type App = ReturnType<typeof createApp>;

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const PEER = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 } };
const TOKEN_PATH = "/oauth2/client/token";

/** A body that sends `first` and then, every `everyMs`, one more byte of `rest` (never closing when `stall`). */
function trickle(first: string, rest: string, everyMs: number, stall: boolean): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (sent++ === 0) return ctl.enqueue(enc.encode(first));
      if (sent - 2 < rest.length) {
        await new Promise((r) => setTimeout(r, everyMs));
        return ctl.enqueue(enc.encode(rest[sent - 2]));
      }
      if (!stall) return ctl.close();
      return new Promise(() => {}); // nothing more, ever
    },
  });
}

/** `app`'s answer to a POST of `body`, or a failure after `ms` (the route waited for the body). */
async function answered(
  app: App,
  path: string,
  init: { headers: Record<string, string>; body: ReadableStream<Uint8Array> },
  ms = 20_000,
): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const res = await Promise.race([
    app.request(path, { method: "POST", ...init, duplex: "half" } as RequestInit, PEER),
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
  ]);
  clearTimeout(timer);
  await init.body.cancel().catch(() => {});
  assert.ok(res, `${path} still waiting for its body after ${ms} ms`);
  return res;
}

Deno.test("body idle timeout: a token request whose body stops arriving answers 408 invalid_request (RFC 6749's shape)", async () => {
  const deps = await testDeps({ bodyIdleTimeoutMs: "300" });
  try {
    const app = createApp(deps);
    const chunked = await answered(app, TOKEN_PATH, { headers: FORM, body: trickle("grant", "", 0, true) });
    assert.equal(chunked.status, 408, "chunked");
    const refusal = await chunked.json();
    assert.equal(refusal.error, "invalid_request");
    assert.match(refusal.error_description, /sent nothing for 0.3 s/);
  } finally {
    deps.close();
  }
});

Deno.test("body idle timeout: a slow body that keeps sending is read to its end; 0 disables the bound", async () => {
  const deps = await testDeps({ bodyIdleTimeoutMs: "300" });
  try {
    // A byte every 100 ms for 800 ms in all: slower than the idle time overall, never idle that long.
    const res = await answered(createApp(deps), TOKEN_PATH, {
      headers: FORM,
      body: trickle("grant_type=client_credentials", "&scope=x", 100, false),
    });
    assert.notEqual(res.status, 408);
    assert.equal((await res.json()).error, "invalid_client", "read whole, then refused for its credentials");
  } finally {
    deps.close();
  }
  const off = await testDeps({ bodyIdleTimeoutMs: "0" });
  try {
    const body = trickle("grant", "", 0, true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const res = await Promise.race([
      createApp(off).request(
        TOKEN_PATH,
        { method: "POST", headers: FORM, body, duplex: "half" } as RequestInit,
      ),
      new Promise<"waiting">((r) => timer = setTimeout(() => r("waiting"), 800)),
    ]);
    clearTimeout(timer);
    assert.equal(res, "waiting", "with 0 the read waits");
    await body.cancel().catch(() => {});
  } finally {
    off.close();
  }
});

Deno.test("body idle timeout: a reader that turns the failed read into its own answer still answers 408", async () => {
  const deps = await testDeps({ bodyIdleTimeoutMs: "300" });
  try {
    const app = createApp(deps);
    // The console reads a login form whole before any page runs; its own error page would say 500.
    const page = await app.request("/console/login");
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith(`${LOGIN_COOKIE}=`))!.split(";")[0];
    const res = await answered(app, "/console/login", {
      headers: { ...FORM, cookie },
      body: trickle("_csrf=", "", 0, true),
    });
    assert.equal(res.status, 408);
    assert.equal((await res.json()).message.error.code, "err.request.timeout");
  } finally {
    deps.close();
  }
});

Deno.test("body idle timeout: watched are bodies of unknown length or declared over 64 KiB, not small ones", () => {
  const body = () => new ReadableStream<Uint8Array>();
  const at = (headers: Record<string, string>) =>
    watchBodyIdle(new Request("http://x/", { method: "POST", headers, body: body() }), 300);
  assert.equal(at({ "content-length": "1000" }), undefined, "a small declared body");
  assert.equal(at({ "content-length": String(WATCHED_FROM_BYTES) }), undefined);
  const large = at({ "content-length": String(WATCHED_FROM_BYTES + 1) });
  assert.ok(large, "a large declared body");
  large.stop();
  const unknown = at({});
  assert.ok(unknown, "a body of unknown length");
  unknown.stop();
  assert.equal(
    watchBodyIdle(new Request("http://x/", { method: "POST", body: body() }), 0),
    undefined,
    "0: off",
  );
});

Deno.test("body idle timeout: the real server answers a chunked body that stops after 5 bytes with 408", async () => {
  const server = await startServerProcess({ env: { DCI_BODY_IDLE_TIMEOUT_MS: "500" } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const head = `POST ${TOKEN_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ngrant\r\n";
    await conn.write(new TextEncoder().encode(head));
    const started = performance.now();
    const buf = new Uint8Array(16 * 1024);
    let text = "";
    while (!/\r\n\r\n[\s\S]*"invalid_request"/.test(text) && performance.now() - started < 20_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"late">((r) =>
          timer = setTimeout(() => r("late"), 20_000 - (performance.now() - started))
        ),
      ]);
      clearTimeout(timer);
      if (n === null || n === "late") break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.match(text, /^HTTP\/1\.1 408 /, `no 408 within 20 s: ${JSON.stringify(text.slice(0, 200))}`);
    assert.match(text, /"error":"invalid_request","error_description":"The request body sent nothing/);
  } finally {
    conn.close();
    await server.stop();
  }
});
