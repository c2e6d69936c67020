/** Console sessions, relative URLs, assets and the session TTL setting, without a browser. */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { testConfig } from "../../src/config.ts";
import { baseOf } from "../../src/console/context.ts";
import { ASSETS } from "../../src/console/assets.ts";
import {
  createSession,
  csrfMatches,
  endSession,
  keepForNextPage,
  readSession,
  takeForThisPage,
} from "../../src/console/session.ts";
import { CONSOLE_CSP } from "../../src/console/routes.tsx";

Deno.test("baseOf() leads every console page back to the console root with a relative path", () => {
  assert.equal(baseOf("/console/"), "./");
  assert.equal(baseOf("/console/senders"), "./");
  assert.equal(baseOf("/console/senders/abc"), "../");
  assert.equal(baseOf("/console/senders/abc/keys"), "../../");
});

Deno.test("DCI_CONSOLE_SESSION_TTL takes seconds or s/m/h/d and refuses less than a minute", () => {
  assert.equal(testConfig().consoleSessionTtl, 8 * 3600);
  assert.equal(testConfig({ consoleSessionTtl: "90" }).consoleSessionTtl, 90);
  assert.equal(testConfig({ consoleSessionTtl: "30m" }).consoleSessionTtl, 1800);
  assert.equal(testConfig({ consoleSessionTtl: "2d" }).consoleSessionTtl, 2 * 86_400);
  assert.throws(() => testConfig({ consoleSessionTtl: "10s" }), /DCI_CONSOLE_SESSION_TTL.*at least 60/);
  assert.throws(() => testConfig({ consoleSessionTtl: "8 hours" }), /DCI_CONSOLE_SESSION_TTL/);
});

Deno.test("a console session is stored hashed and is seen by another app on the same database", async () => {
  const deps = await testDeps();
  try {
    const { info } = await deps.storage.adminTokens.create({ role: "admin" });
    const { id } = await createSession(deps, info.id);
    const stored = await deps.sql("SELECT id_hash FROM console_sessions") as { id_hash: string }[];
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0].id_hash, id);
    assert.doesNotMatch(JSON.stringify(stored), new RegExp(id));
    // A second app over the same database (another isolate, or the server after a restart) knows the session.
    const other = createApp(deps);
    const page = await other.request("/console/", { headers: { cookie: `dci_console=${id}` } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<h1>Dashboard<\/h1>/);
  } finally {
    deps.close();
  }
});

Deno.test("a console session ends at its TTL and at logout", async () => {
  const deps = await testDeps({ consoleSessionTtl: "1h" });
  try {
    const { info } = await deps.storage.adminTokens.create({ role: "viewer" });
    const { id } = await createSession(deps, info.id);
    assert.equal((await readSession(deps, id))?.role, "viewer");
    deps.clock.advance(3600_000 - 1);
    assert.ok(await readSession(deps, id));
    deps.clock.advance(1);
    assert.equal(await readSession(deps, id), undefined);
    const second = await createSession(deps, info.id);
    await endSession(deps, second.id);
    assert.equal(await readSession(deps, second.id), undefined);
    assert.equal(await readSession(deps, "not a session id"), undefined);
  } finally {
    deps.close();
  }
});

Deno.test("csrfMatches() accepts only the session's own token", async () => {
  const deps = await testDeps();
  try {
    const { info } = await deps.storage.adminTokens.create({ role: "admin" });
    const a = (await readSession(deps, (await createSession(deps, info.id)).id))!;
    const b = (await readSession(deps, (await createSession(deps, info.id)).id))!;
    assert.equal(csrfMatches(a, a.csrf), true);
    assert.equal(csrfMatches(a, b.csrf), false);
    assert.equal(csrfMatches(a, undefined), false);
    assert.equal(csrfMatches(a, a.csrf.slice(1)), false);
    assert.equal(csrfMatches(a, a.csrf + "x".repeat(200)), false);
  } finally {
    deps.close();
  }
});

Deno.test("a secret kept for the next page is sealed in the database and shown once", async () => {
  const deps = await testDeps();
  try {
    const { info } = await deps.storage.adminTokens.create({ role: "admin" });
    const session = (await readSession(deps, (await createSession(deps, info.id)).id))!;
    await keepForNextPage(deps, session, {
      flash: { kind: "ok", text: "Created." },
      secret: { title: "New secret", label: "Client secret:", value: "s3cr3t-value-never-in-the-db" },
    });
    const raw = JSON.stringify(await deps.sql("SELECT * FROM console_sessions"));
    assert.doesNotMatch(raw, /s3cr3t-value/);
    const once = await takeForThisPage(deps, session);
    assert.equal(once.secret?.value, "s3cr3t-value-never-in-the-db");
    assert.equal(once.flash?.text, "Created.");
    assert.deepEqual(await takeForThisPage(deps, session), {});
  } finally {
    deps.close();
  }
});

Deno.test("console assets: hashed names, a year of caching, htmx byte for byte from its npm package", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const npmHtmx = await import("htmx.org/dist/htmx.min.js", { with: { type: "text" } });
    assert.equal(ASSETS.htmx.body, npmHtmx.default);
    for (const asset of Object.values(ASSETS)) {
      assert.match(asset.name, /\.[0-9a-f]{12}\./);
      const res = await app.request(`/console/assets/${asset.name}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(await res.text(), asset.body);
    }
    assert.equal((await app.request("/console/assets/htmx.000000000000.min.js")).status, 404);
    const login = await app.request("/console/login");
    assert.equal(login.headers.get("content-security-policy"), CONSOLE_CSP);
    assert.equal(login.headers.get("cache-control"), "no-store");
    const html = await login.text();
    assert.doesNotMatch(
      html,
      /<script>|<style|style=|https?:\/\//,
      "no inline script or style, no absolute URL",
    );
  } finally {
    deps.close();
  }
});

Deno.test("/console redirects to console/ relatively, so a path prefix in front is kept", async () => {
  const deps = await testDeps();
  try {
    const res = await createApp(deps).request("/console");
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), "console/");
    const login = await createApp(deps).request("/console/senders/abc");
    assert.equal(login.headers.get("location"), "../login");
  } finally {
    deps.close();
  }
});

Deno.test("the CSRF gate reads the token from a multipart form (file uploads) and from X-CSRF-Token (htmx)", async () => {
  const deps = await testDeps();
  try {
    const { info } = await deps.storage.adminTokens.create({ role: "admin" });
    const { id } = await createSession(deps, info.id);
    const csrf = (await readSession(deps, id))!.csrf;
    const app = createApp(deps);
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      app.request("/console/admin-tokens", {
        method: "POST",
        body,
        headers: { cookie: `dci_console=${id}`, ...headers },
      });
    const form = (withToken: boolean) => {
      const f = new FormData();
      f.set("role", "viewer");
      if (withToken) f.set("_csrf", csrf);
      return f;
    };
    assert.equal((await post(form(false))).status, 403);
    assert.equal((await post(form(true))).status, 303);
    const urlencoded = { "content-type": "application/x-www-form-urlencoded" };
    assert.equal((await post("role=viewer", urlencoded)).status, 403);
    assert.equal((await post("role=viewer", { ...urlencoded, "x-csrf-token": csrf })).status, 303);
  } finally {
    deps.close();
  }
});

Deno.test("a console POST without a session is refused without reading its body (a trickled body holds nothing)", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    let pulled = 0;
    // A body that sends one byte and then nothing, ever.
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (pulled++ === 0) ctl.enqueue(new TextEncoder().encode("a"));
        else return new Promise(() => {});
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const res = await Promise.race([
      app.request("/console/senders", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        duplex: "half",
      } as RequestInit),
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 3000)),
    ]);
    clearTimeout(timer);
    assert.ok(res, "answered without waiting for the body");
    assert.equal(res.status, 403);
    await res.body?.cancel();
    await body.cancel().catch(() => {});
  } finally {
    deps.close();
  }
});

Deno.test("an htmx request without a session gets HX-Redirect to the login page, not a 303 it would swap in", async () => {
  for (
    const [publicUrl, login] of [["", "/console/login"], [
      "https://dci.example.org/dci/",
      "/dci/console/login",
    ]]
  ) {
    const deps = await testDeps({ publicUrl });
    try {
      const app = createApp(deps);
      const { info } = await deps.storage.adminTokens.create({ role: "admin" });
      const { id } = await createSession(deps, info.id);
      await endSession(deps, id);
      const poll = "/console/registry/social/imports/1/progress";
      for (const cookie of [undefined, `dci_console=${id}`]) {
        for (const method of ["GET", "POST"]) {
          const res = await app.request(poll, {
            method,
            headers: { "hx-request": "true", ...(cookie ? { cookie } : {}) },
          });
          assert.equal(res.status, 200, `${method} ${cookie}`);
          assert.equal(res.headers.get("hx-redirect"), login);
          assert.equal(res.headers.get("location"), null);
          assert.equal(await res.text(), "");
        }
      }
      // A page (no htmx) is still redirected to the login page, relative to it.
      const page = await app.request(poll, { redirect: "manual" });
      assert.equal(page.status, 303);
      assert.equal(page.headers.get("location"), "../../../../login");
      assert.equal(page.headers.get("hx-redirect"), null);
    } finally {
      deps.close();
    }
  }
});
