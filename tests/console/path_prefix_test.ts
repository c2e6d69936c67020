/** The console behind a reverse proxy that serves it under a path prefix, in Chromium; and its cookie flags. */
import assert from "node:assert/strict";
import { BROWSER_TEST, launchBrowser, startConsole } from "../helpers/console_browser.ts";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createSession } from "../../src/console/session.ts";

/** A loopback reverse proxy: `/dci/...` goes to `target` + `/...` (as nginx `location /dci/ { proxy_pass …/; }`). */
function prefixProxy() {
  let target = "";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith("/dci/")) return new Response("outside the prefix", { status: 404 });
    const upstream = await fetch(`${target}${url.pathname.slice(4)}${url.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "manual",
    });
    // fetch has decoded a compressed answer (openapi.json): passed on decoded, without its encoding headers.
    const headers = new Headers(upstream.headers);
    headers.delete("content-encoding");
    headers.delete("content-length");
    return new Response(upstream.body, { status: upstream.status, headers });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    setTarget: (t: string) => void (target = t),
    close: () => server.shutdown(),
  };
}

Deno.test(
  "the console works under a path prefix: every link, form and redirect stays under it",
  BROWSER_TEST,
  async (t) => {
    const proxy = prefixProxy();
    const server = await startConsole({ publicUrl: `${proxy.origin}/dci` });
    proxy.setTarget(server.origin);
    const browser = await launchBrowser();
    const context = await browser.newContext();
    const page = await context.newPage();
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(`${proxy.origin}/dci/`)) outside.push(r.url());
    });
    try {
      await t.step("log in through the prefix; the cookie is scoped to /dci/console", async () => {
        await page.goto(`${proxy.origin}/dci/console`);
        assert.equal(page.url(), `${proxy.origin}/dci/console/login`);
        await page.getByLabel("Admin or viewer token").fill(server.adminToken);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.waitForURL(`${proxy.origin}/dci/console/`);
        const cookie = (await context.cookies()).find((c) => c.name === "dci_console")!;
        assert.equal(cookie.path, "/dci/console");
      });

      await t.step("navigate, write and get redirected without leaving the prefix", async () => {
        await page.getByRole("link", { name: "Senders" }).click();
        await page.waitForURL(`${proxy.origin}/dci/console/senders`);
        await page.getByLabel("Sender id").fill("prefixed.example.org");
        await page.getByRole("button", { name: "Create sender" }).click();
        await page.waitForURL(`${proxy.origin}/dci/console/senders/prefixed.example.org`);
        await page.getByRole("link", { name: "All senders" }).click();
        await page.waitForURL(`${proxy.origin}/dci/console/senders`);
        await page.getByRole("link", { name: "Admin tokens" }).click();
        await page.waitForURL(`${proxy.origin}/dci/console/admin-tokens`);
        await page.getByRole("button", { name: "Log out" }).click();
        await page.waitForURL(`${proxy.origin}/dci/console/login`);
        assert.deepEqual(outside, []);
      });
    } finally {
      await context.close();
      await browser.close();
      await server.close();
      await proxy.close();
    }
  },
);

Deno.test("console cookies are Secure when DCI_PUBLIC_URL is https, and not otherwise", async () => {
  for (const [publicUrl, secure] of [["https://dci.example.org", true], ["", false]] as const) {
    const deps = await testDeps({ publicUrl });
    try {
      const res = await createApp(deps).request("/console/login");
      const cookie = res.headers.get("set-cookie") ?? "";
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      assert.equal(/;\s*Secure/i.test(cookie), secure, publicUrl);
    } finally {
      deps.close();
    }
  }
});

Deno.test("console cookies are Secure when a trusted proxy says the client used https, not when anyone else says so", async () => {
  const deps = await testDeps({ trustedProxies: "127.0.0.1" });
  try {
    const app = createApp(deps);
    for (const [peer, secure] of [["127.0.0.1", true], ["192.0.2.7", false]] as const) {
      const res = await app.request("/console/login", {
        headers: { "x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.4" },
      }, { remoteAddr: { hostname: peer } });
      const cookie = res.headers.get("set-cookie") ?? "";
      assert.match(cookie, /HttpOnly/);
      assert.equal(/;\s*Secure/i.test(cookie), secure, peer);
    }
  } finally {
    deps.close();
  }
});

Deno.test("an unknown console page and an unknown sender answer a 404 page inside the console", async () => {
  const server = await startConsole();
  try {
    const { id } = await createSession(server.deps, server.adminTokenId);
    for (const path of ["/console/nothing-here", "/console/senders/nobody.example"]) {
      const res = await fetch(`${server.origin}${path}`, { headers: { cookie: `dci_console=${id}` } });
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get("content-type") ?? "", /text\/html/);
      assert.match(await res.text(), /<h1>Not found<\/h1>/);
    }
  } finally {
    await server.close();
  }
});
