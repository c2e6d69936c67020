/** The console in a real browser: login, logout, cookies, CSP, CSRF, and what a viewer may do. */
import assert from "node:assert/strict";
import {
  BROWSER_TEST,
  csrfOf,
  launchBrowser,
  loggedInPage,
  login,
  postForm,
  startConsole,
} from "../helpers/console_browser.ts";

Deno.test("console login, session and CSRF in Chromium", BROWSER_TEST, async (t) => {
  const browser = await launchBrowser();
  const server = await startConsole();
  try {
    await t.step("an unauthenticated visit is sent to the login page", async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}senders`);
      assert.equal(page.url(), `${server.url}login`);
      await page.close();
    });

    await t.step("a wrong token is refused on the login page", async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}login`);
      await page.getByLabel("Admin or viewer token").fill("dcia_at_0000000000000000_" + "x".repeat(43));
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText("That token is not a valid admin or viewer token.").waitFor();
      assert.equal((await page.context().cookies()).some((c) => c.name === "dci_console"), false);
      await page.close();
    });

    await t.step(
      "an admin logs in: HttpOnly SameSite=Strict cookie on /console, strict CSP, no CSP errors",
      async () => {
        const context = await browser.newContext();
        const page = await context.newPage();
        const problems: string[] = [];
        page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
        page.on("pageerror", (e) => problems.push(String(e)));
        const answer = await page.goto(`${server.url}login`);
        assert.match(answer!.headers()["content-security-policy"], /script-src 'self'; style-src 'self'/);
        await login(page, server, server.adminToken);
        await page.getByRole("heading", { name: "Dashboard" }).waitFor();
        const cookie = (await context.cookies()).find((c) => c.name === "dci_console")!;
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, "Strict");
        assert.equal(cookie.path, "/console");
        assert.ok(cookie.expires > Date.now() / 1000 + 7 * 3600, "default TTL is 8h");
        // The page's own script and htmx loaded under the CSP (htmx sets window.htmx).
        assert.equal(await page.evaluate(() => typeof (globalThis as { htmx?: unknown }).htmx), "object");
        assert.deepEqual(problems, []);
        await context.close();
      },
    );

    await t.step("a POST without the CSRF token is refused, and one with it is not", async () => {
      const { context, page } = await loggedInPage(browser, server, server.adminToken);
      const refused = await postForm(page, "admin-tokens", { role: "viewer", name: "no csrf" });
      assert.equal(refused.status, 403);
      assert.match(refused.text, /no valid CSRF token/);
      const wrong = await postForm(page, "admin-tokens", {
        role: "viewer",
        name: "bad",
        _csrf: "A".repeat(43),
      });
      assert.equal(wrong.status, 403);
      const csrf = await csrfOf(page);
      const accepted = await postForm(page, "admin-tokens", {
        role: "viewer",
        name: "with csrf",
        _csrf: csrf,
      });
      assert.equal(accepted.status, 200);
      assert.equal(accepted.redirected, true);
      assert.match(accepted.text, /Created viewer token at_[0-9a-f]{16}/);
      await context.close();
    });

    await t.step(
      "a viewer sees no write controls and a forged POST with a valid CSRF token is refused",
      async () => {
        const { context, page } = await loggedInPage(browser, server, server.viewerToken);
        for (const path of ["", "admin-tokens"]) {
          await page.goto(`${server.url}${path}`);
          assert.notEqual(await page.locator("h1").innerText(), "Error", path);
          // The only form that posts is the logout button.
          assert.equal(await page.locator('form[method="post"]').count(), 1, path);
          assert.equal(await page.locator('form[method="post"] button').innerText(), "Log out");
        }
        const [before] = await server.deps.sql("SELECT count(*) AS n FROM admin_tokens");
        const forged = await postForm(page, "admin-tokens", {
          role: "admin",
          name: "forged",
          _csrf: await csrfOf(page),
        });
        assert.equal(forged.status, 403);
        assert.match(forged.text, /may only read/);
        const [after] = await server.deps.sql("SELECT count(*) AS n FROM admin_tokens");
        assert.equal(Number(after.n), Number(before.n));
        await context.close();
      },
    );

    await t.step("logout ends the session: the old cookie no longer opens a page", async () => {
      const { context, page } = await loggedInPage(browser, server, server.adminToken);
      const old = (await context.cookies()).find((c) => c.name === "dci_console")!;
      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${server.url}login`);
      await context.addCookies([old]);
      await page.goto(server.url);
      assert.equal(page.url(), `${server.url}login`);
      await context.close();
    });

    await t.step("revoking the admin token ends its console sessions at once", async () => {
      const { context, page } = await loggedInPage(browser, server, server.viewerToken);
      const [{ id }] = await server.deps.sql("SELECT id FROM admin_tokens WHERE name = 'console viewer'");
      assert.ok(await server.deps.storage.adminTokens.revoke(String(id)));
      await page.goto(`${server.url}admin-tokens`);
      assert.equal(page.url(), `${server.url}login`);
      await context.close();
    });
  } finally {
    await browser.close();
    await server.close();
  }
});
