/** The console's OAuth clients, Server keys and Admin tokens pages in Chromium: secrets shown once, rotate, retire, revoke. */
import assert from "node:assert/strict";
import {
  BROWSER_TEST,
  launchBrowser,
  loggedInPage,
  login,
  startConsole,
} from "../helpers/console_browser.ts";
import { fetchToken } from "../helpers/auth.ts";
import { addSender } from "../../src/senders/store.ts";
import { getClient } from "../../src/senders/clients.ts";

Deno.test("console OAuth clients, Server keys and Admin tokens in Chromium", BROWSER_TEST, async (t) => {
  const browser = await launchBrowser();
  const server = await startConsole();
  await addSender(server.deps, "partner.example.org", { name: "Partner" });
  const { context, page } = await loggedInPage(browser, server, server.adminToken);
  const secretDialog = page.getByRole("dialog").filter({ has: page.locator("#secret-value") });
  try {
    let clientId = "";
    let firstSecret = "";
    await t.step(
      "create a client: its secret is shown once in a dialog and works at the token endpoint",
      async () => {
        await page.goto(`${server.url}oauth-clients`);
        await page.getByLabel("Sender id").last().fill("partner.example.org");
        await page.getByLabel("Name", { exact: true }).fill("OpenSPP");
        await page.getByLabel("registry.enrollment").check();
        await page.getByRole("button", { name: "Create client" }).click();
        await secretDialog.waitFor();
        firstSecret = await page.locator("#secret-value").innerText();
        clientId = /Created client (dcic_[A-Za-z0-9_-]+)/.exec(await page.locator(".flash").innerText())![1];
        assert.match(firstSecret, /^dcis_/);
        assert.ok((await getClient(server.deps, clientId))!.scopes.includes("registry.enrollment"));
        assert.ok(await fetchToken(server.origin, clientId, firstSecret));
        await secretDialog.getByRole("button", { name: "Done" }).click();
        await secretDialog.waitFor({ state: "hidden" });
      },
    );

    await t.step(
      "an htmx poll landing between a write and its page leaves the secret to the page",
      async () => {
        await page.goto(`${server.url}oauth-clients`);
        let poll = 0;
        // The create's POST is sent from here: its 303 comes back, then a poll of another tab (same session)
        // lands, then the browser follows the redirect to the page that shows the secret.
        await page.route(/\/oauth-clients$/, async (route) => {
          if (route.request().method() !== "POST") return await route.continue();
          const created = await route.fetch({ maxRedirects: 0 });
          poll = (await context.request.get(`${server.url}`, { headers: { "HX-Request": "true" } })).status();
          await route.fulfill({ response: created });
        });
        await page.getByLabel("Sender id").last().fill("partner.example.org");
        await page.getByLabel("Name", { exact: true }).fill("Polled");
        await page.getByRole("button", { name: "Create client" }).click();
        await secretDialog.waitFor();
        assert.equal(poll, 200);
        assert.match(await page.locator("#secret-value").innerText(), /^dcis_/);
        await page.unroute(/\/oauth-clients$/);
        await secretDialog.getByRole("button", { name: "Done" }).click();
        await secretDialog.waitFor({ state: "hidden" });
      },
    );

    await t.step("a reload no longer shows the secret", async () => {
      await page.reload();
      await page.getByRole("heading", { name: "OAuth clients" }).waitFor();
      assert.equal(await page.locator("#secret-value").count(), 0);
      assert.doesNotMatch(await page.content(), new RegExp(firstSecret));
    });

    await t.step("rotate the secret: the new one is shown once, the old one stops working", async () => {
      const row = page.getByRole("row").filter({ hasText: clientId });
      await row.getByRole("button", { name: "Rotate secret" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await secretDialog.waitFor();
      const second = await page.locator("#secret-value").innerText();
      assert.notEqual(second, firstSecret);
      assert.ok(await fetchToken(server.origin, clientId, second));
      await assert.rejects(fetchToken(server.origin, clientId, firstSecret), /token request failed: 401/);
      await page.reload();
      assert.equal(await page.locator("#secret-value").count(), 0);
    });

    await t.step("revoke the client", async () => {
      const row = page.getByRole("row").filter({ hasText: clientId });
      await row.getByRole("button", { name: "Revoke" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText(`Revoked ${clientId}.`).waitFor();
      assert.equal((await getClient(server.deps, clientId))!.active, false);
    });

    await t.step("rotate the server key; retiring the old one warns while its tokens are valid", async () => {
      await page.goto(`${server.url}server-keys`);
      const before = await server.deps.keys.list();
      assert.equal(before.length, 1);
      const old = before[0].key_id;
      // By default the new key is published first and signs DCI_KEY_PUBLISH_SECONDS later.
      await page.getByRole("button", { name: "Rotate signing key" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText(/is published and signs from/).waitFor();
      const waiting = (await server.deps.keys.list()).find((k) => k.status === "next")!;
      assert.equal((await server.deps.keys.info(old))!.status, "active");
      await page.getByRole("row").filter({ hasText: waiting.key_id }).getByText(waiting.signs_from).waitFor();
      // At once (a compromised key): the new key signs now, and the one that was waiting never will.
      await page.getByLabel("Sign with it at once").check();
      await page.getByRole("button", { name: "Rotate signing key" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText(/now signs\./).waitFor();
      assert.equal((await server.deps.keys.info(waiting.key_id))!.status, "retired");
      assert.equal((await server.deps.keys.info(old))!.status, "published");
      const row = page.getByRole("row").filter({ hasText: old });
      await row.getByText(/stay valid until/).waitFor();
      await row.getByRole("button", { name: "Retire" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.locator(".flash.error").getByText(/Tick "Retire anyway"/).waitFor();
      assert.equal((await server.deps.keys.info(old))!.status, "published");
      await page.getByRole("row").filter({ hasText: old }).getByLabel("Retire anyway").check();
      await page.getByRole("row").filter({ hasText: old }).getByRole("button", { name: "Retire" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText(`Retired ${old}.`).waitFor();
      assert.equal((await server.deps.keys.info(old))!.status, "retired");
    });

    await t.step(
      "once the token lifetime has passed, a published key retires without the warning",
      async () => {
        await server.deps.keys.rotate("ed25519", { now: true });
        const published = (await server.deps.keys.list()).find((k) => k.status === "published")!.key_id;
        server.deps.clock.advance((server.deps.config.tokenTtlSeconds + 1) * 1000);
        await page.goto(`${server.url}server-keys`);
        const row = page.getByRole("row").filter({ hasText: published });
        assert.equal(await row.getByText(/stay valid until/).count(), 0);
        await row.getByRole("button", { name: "Retire" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
        await page.getByText(`Retired ${published}.`).waitFor();
      },
    );

    let viewerToken = "";
    await t.step("create a viewer token: shown once, and it logs in as a viewer", async () => {
      await page.goto(`${server.url}admin-tokens`);
      await page.getByLabel("Role").selectOption("viewer");
      await page.getByLabel("Name").fill("auditor");
      await page.getByRole("button", { name: "Create token" }).click();
      await secretDialog.waitFor();
      viewerToken = await page.locator("#secret-value").innerText();
      assert.match(viewerToken, /^dcia_at_[0-9a-f]{16}_/);
      await page.reload();
      assert.equal(await page.locator("#secret-value").count(), 0);
      const other = await browser.newContext();
      const viewerPage = await other.newPage();
      await login(viewerPage, server, viewerToken);
      await viewerPage.getByText("(viewer)").waitFor();
      await other.close();
    });

    await t.step("revoke it", async () => {
      const id = /^dcia_(at_[0-9a-f]{16})_/.exec(viewerToken)![1];
      await page.getByRole("row").filter({ hasText: id }).getByRole("button", { name: "Revoke" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText(`Revoked ${id}.`).waitFor();
      assert.ok((await server.deps.storage.adminTokens.get(id))!.revoked_at);
    });
  } finally {
    await context.close();
    await browser.close();
    await server.close();
  }
});
