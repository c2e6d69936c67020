/**
 * Unauthenticated form bodies cost little: the token endpoint and the console's login and logout take at most
 * 8 KiB and 32 fields (counted before parsing), the console's other forms 64 KiB, and a console login or logout
 * without its cookie is refused before its body is read.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";
import { LOGIN_COOKIE } from "../../src/console/cookies.ts";
import { createSession, readSession } from "../../src/console/session.ts";

type App = ReturnType<typeof createApp>;

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const PEER = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 } };

/** `n` one-letter pairs (`k0=v&k1=v…`), to pad a form up to a field count. */
const pairs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${from + i}=v`).join("&");

/** A body sent in one chunk without Content-Length, so only the counting limit can stop it. */
function chunked(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(ctl) {
      ctl.enqueue(new TextEncoder().encode(text));
      ctl.close();
    },
  });
}

/** A body that sends one byte and then nothing, ever; the race fails if the route waits for it. */
async function answeredUnread(app: App, path: string, headers: Record<string, string>): Promise<Response> {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (pulled++ === 0) ctl.enqueue(new TextEncoder().encode("a"));
      else return new Promise(() => {});
    },
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const res = await Promise.race([
    app.request(path, { method: "POST", headers, body, duplex: "half" } as RequestInit),
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 3000)),
  ]);
  clearTimeout(timer);
  await body.cancel().catch(() => {});
  assert.ok(res, `${path} answered without waiting for the body`);
  return res;
}

/** The login form's cookie header and nonce, as a browser gets them. */
async function loginForm(app: App): Promise<{ cookie: string; nonce: string }> {
  const page = await app.request("/console/login");
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith(`${LOGIN_COOKIE}=`))!.split(";")[0];
  const nonce = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1];
  return { cookie, nonce };
}

Deno.test("token endpoint form limits: over 8 KiB is 413, over 32 parameters is invalid_request, 32 pass", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const creds = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: alice.clientId,
      client_secret: alice.clientSecret,
    }).toString();
    const ask = (body: BodyInit, headers: Record<string, string> = FORM) =>
      app.request(
        "/oauth2/client/token",
        { method: "POST", headers, body, duplex: "half" } as RequestInit,
        PEER,
      );

    const big = `${creds}&pad=${"x".repeat(8 * 1024)}`;
    assert.equal((await ask(big)).status, 413, "declared length");
    assert.equal((await ask(chunked(big))).status, 413, "chunked");
    const json = JSON.stringify({ grant_type: "client_credentials", pad: "x".repeat(8 * 1024) });
    assert.equal((await ask(json, { "content-type": "application/json" })).status, 413);

    // Under the bound, a parameter over 1,024 characters is still refused by name.
    const long = await ask(`${creds}&scope=${"s".repeat(2000)}`);
    assert.equal(long.status, 400);
    assert.match((await long.json()).error_description, /'scope' is longer than 1024/);

    // 3 credential pairs + 29 padding = 32 parameters: allowed; one more is refused before URLSearchParams.
    const ok = await ask(`${creds}&${pairs(29)}`);
    assert.equal(ok.status, 200, await ok.clone().text());
    const many = await ask(`${creds}&${pairs(30)}`);
    assert.equal(many.status, 400);
    assert.deepEqual(await many.json(), {
      error: "invalid_request",
      error_description: "the request has more than 32 parameters",
    });
    const manyJson = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]));
    const refused = await ask(JSON.stringify({ ...manyJson, grant_type: "client_credentials" }), {
      "content-type": "application/json",
    });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error, "invalid_request");
  } finally {
    deps.close();
  }
});

Deno.test("console login and logout without their cookie are refused without reading the body", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const login = await answeredUnread(app, "/console/login", FORM);
    assert.equal(login.status, 403);
    assert.match(await login.text(), /login form expired/);
    const logout = await answeredUnread(app, "/console/logout", FORM);
    assert.equal(logout.status, 403);
    await logout.body?.cancel();
  } finally {
    deps.close();
  }
});

Deno.test("console login: over 8 KiB is 413, over 32 fields is 413 before parsing, 32 fields log in", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const post = async (body: string | FormData) => {
      const { cookie, nonce } = await loginForm(app);
      if (typeof body !== "string") body.set("_csrf", nonce);
      const init: RequestInit = typeof body === "string"
        ? { headers: { ...FORM, cookie }, body: `_csrf=${nonce}&${body}` }
        : { headers: { cookie }, body };
      return app.request("/console/login", { ...init, method: "POST", redirect: "manual" }, PEER);
    };
    const big = await post(`token=${"x".repeat(8 * 1024)}`);
    assert.equal(big.status, 413);
    assert.match(await big.text(), /larger than the limit of 8192 bytes/);

    const tooMany = await post(`token=${encodeURIComponent(token)}&${pairs(31)}`);
    assert.equal(tooMany.status, 413);
    assert.match(await tooMany.text(), /more than 32 fields/);
    const multipart = new FormData();
    multipart.set("token", token);
    for (let i = 0; i < 31; i++) multipart.set(`k${i}`, "v");
    assert.equal((await post(multipart)).status, 413);

    const ok = await post(`token=${encodeURIComponent(token)}&${pairs(30)}`);
    assert.equal(ok.status, 303);
    assert.ok(ok.headers.getSetCookie().some((c) => c.startsWith("dci_console=")));
  } finally {
    deps.close();
  }
});

Deno.test("console forms with a session: logout takes 8 KiB and 32 fields, other forms 64 KiB", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const { info } = await deps.storage.adminTokens.create({ role: "admin" });
    const { id } = await createSession(deps, info.id);
    const csrf = (await readSession(deps, id))!.csrf;
    const post = (path: string, body: string) =>
      app.request(path, {
        method: "POST",
        headers: { ...FORM, cookie: `dci_console=${id}` },
        body: `_csrf=${csrf}&${body}`,
        redirect: "manual",
      });
    assert.equal((await post("/console/logout", `pad=${"x".repeat(8 * 1024)}`)).status, 413);
    const many = await post("/console/logout", pairs(32));
    assert.equal(many.status, 413);
    assert.match(await many.text(), /more than 32 fields/);

    // Under 64 KiB the page gets the form (and creates the token); over it, 413 before any page runs.
    const fits = await post("/console/admin-tokens", `role=viewer&pad=${"x".repeat(60 * 1024)}`);
    assert.equal(fits.status, 303);
    const over = await post("/console/admin-tokens", `role=viewer&pad=${"x".repeat(64 * 1024)}`);
    assert.equal(over.status, 413);
    await over.body?.cancel();

    assert.equal((await post("/console/logout", pairs(30))).status, 303);

    // A console path ending as the registry's bulk upload does (`…/registry/search`, multipart) keeps the
    // console's limit: only the registry routes' own paths lift it for a streamed upload.
    const viewer = await createSession(
      deps,
      (await deps.storage.adminTokens.create({ role: "viewer" })).info.id,
    );
    for (const path of ["/console/x/registry/search", "/console/registry/search/"]) {
      const upload = await app.request(path, {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=b", cookie: `dci_console=${viewer.id}` },
        body: chunked(`--b\r\n${"x".repeat(200 * 1024)}`),
      });
      assert.equal(upload.status, 413, `${path}: ${await upload.clone().text()}`);
      await upload.body?.cancel();
    }
  } finally {
    deps.close();
  }
});
