/** The console's Senders pages in Chromium: list, filters, pages, create, every setting, keys, JWKS fetch, remove. */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { BROWSER_TEST, launchBrowser, loggedInPage, startConsole } from "../helpers/console_browser.ts";
import { addSender, getSender, updateSender } from "../../src/senders/store.ts";
import { listSenderKeys } from "../../src/senders/keys.ts";

/** A JWKS endpoint on a free loopback port serving one Ed25519 key. */
function jwksServer() {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ keys: [{ ...jwk, kid: "jwks-key-1", alg: "EdDSA", use: "sig" }] }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/jwks.json`, close: () => server.shutdown() };
}

Deno.test("console Senders pages in Chromium", BROWSER_TEST, async (t) => {
  const browser = await launchBrowser();
  const server = await startConsole({ outboundAllow: "127.0.0.1" });
  const jwks = jwksServer();
  const { context, page } = await loggedInPage(browser, server, server.adminToken);
  try {
    await t.step("create a sender through the form", async () => {
      await page.goto(`${server.url}senders`);
      await page.getByLabel("Sender id").fill("partner.example.org");
      await page.getByLabel("Name", { exact: true }).fill("Partner");
      await page.getByLabel("JWKS URL").fill(jwks.url);
      await page.getByRole("button", { name: "Create sender" }).click();
      await page.getByRole("heading", { name: "Sender partner.example.org" }).waitFor();
      await page.getByText("Created sender partner.example.org.").waitFor();
      assert.equal((await getSender(server.deps, "partner.example.org"))?.name, "Partner");
    });

    await t.step("a refused create shows the reason and creates nothing", async () => {
      await page.goto(`${server.url}senders`);
      await page.getByLabel("Sender id").fill("Partner.example.org");
      await page.getByRole("button", { name: "Create sender" }).click();
      await page.getByText(/differs only by case/).waitFor();
      assert.equal(await getSender(server.deps, "Partner.example.org"), undefined);
    });

    await t.step("edit every per-sender setting", async () => {
      await page.goto(`${server.url}senders/partner.example.org`);
      await page.getByLabel("Callback base URL").fill("https://partner.example.org/dci");
      await page.getByLabel("Callback URL mode").selectOption("exact");
      await page.getByLabel("Requests per minute").fill("77");
      await page.getByLabel("Requests per day").fill("7000");
      await page.getByLabel("Envelope signature policy").selectOption("optional");
      await page.getByLabel("Signature window, seconds").fill("600");
      await page.getByLabel(/Test sender/).check();
      await page.getByLabel("Lenient: total_count").check();
      await page.getByLabel(/Approve its subscriptions automatically/).check();
      await page.getByLabel("Outbound authentication type").selectOption("bearer");
      await page.getByLabel("Bearer token").fill("receiver-bearer-token-1");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.getByText("Settings saved.").waitFor();
      const s = (await getSender(server.deps, "partner.example.org"))!;
      assert.equal(s.callback_base_url, "https://partner.example.org/dci");
      assert.equal(s.callback_url_mode, "exact");
      assert.equal(s.limit_minute, 77);
      assert.equal(s.limit_day, 7000);
      assert.equal(s.signature_policy, "optional");
      assert.equal(s.signature_max_window_seconds, 600);
      assert.equal(s.test_mode, true);
      assert.deepEqual(s.lenient, ["total_count"]);
      assert.equal(s.auto_approve_subscriptions, true);
      assert.deepEqual(s.outbound_auth, { type: "bearer", token_set: true });
      // The page never shows the secret back; saving again with the field blank keeps it.
      assert.equal(await page.getByLabel("Bearer token").inputValue(), "");
      assert.doesNotMatch(await page.content(), /receiver-bearer-token-1/);
      await page.getByLabel("Requests per minute").fill("");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.getByText("Settings saved.").waitFor();
      const again = (await getSender(server.deps, "partner.example.org"))!;
      assert.equal(again.limit_minute, server.deps.config.rateLimitMinute, "blank = the server default");
      assert.deepEqual(again.defaults, ["limit_minute"]);
      assert.deepEqual(again.outbound_auth, { type: "bearer", token_set: true });
      // A value set on purpose that equals today's default stays set when the form is saved for something else
      // (it followed the default from then on, and a later change of the default changed this sender too).
      await updateSender(server.deps, "partner.example.org", {
        signature_policy: server.deps.config.signaturePolicy,
        limit_day: server.deps.config.rateLimitDay,
      });
      await page.reload();
      assert.equal(
        await page.getByLabel("Requests per day").inputValue(),
        String(server.deps.config.rateLimitDay),
      );
      await page.getByLabel("Name").fill("Partner renamed");
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.getByText("Settings saved.").waitFor();
      const pinned = (await getSender(server.deps, "partner.example.org"))!;
      assert.equal(pinned.name, "Partner renamed");
      assert.deepEqual(pinned.defaults, ["limit_minute"]);
    });

    await t.step("add a key by pasting a PEM, and one by pasting a JWK", async () => {
      const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string;
      await page.getByLabel("Key id").fill("pem-key");
      await page.getByLabel("Public key (PEM or JWK)").fill(pem);
      await page.getByRole("button", { name: "Add key" }).click();
      await page.getByText("Added key pem-key (ed25519).").waitFor();
      const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
      await page.getByLabel("Key id").fill("jwk-key");
      await page.getByLabel("Public key (PEM or JWK)").fill(JSON.stringify(jwk));
      await page.getByRole("button", { name: "Add key" }).click();
      await page.getByText("Added key jwk-key (rsa-sha256).").waitFor();
      const keys = (await listSenderKeys(server.deps, "partner.example.org")).map((k) =>
        `${k.key_id}:${k.source}`
      );
      assert.deepEqual(keys.sort(), ["jwk-key:manual", "pem-key:manual"]);
      await page.getByLabel("Key id").fill("bad-key");
      await page.getByLabel("Public key (PEM or JWK)").fill("not a key");
      await page.getByRole("button", { name: "Add key" }).click();
      await page.locator(".flash.error").waitFor();
      assert.equal((await listSenderKeys(server.deps, "partner.example.org")).length, 2);
    });

    await t.step("fetch keys from the loopback JWKS URL and see the result", async () => {
      await page.getByRole("button", { name: "Fetch keys from JWKS URL" }).click();
      await page.getByText("Fetched the JWKS: 1 key.").waitFor();
      await page.getByRole("cell", { name: "jwks-key-1" }).waitFor();
      assert.ok(
        (await listSenderKeys(server.deps, "partner.example.org")).some((k) => k.key_id === "jwks-key-1"),
      );
    });

    await t.step("remove a key after confirming in the dialog", async () => {
      const row = page.getByRole("row").filter({ hasText: "pem-key" });
      await row.getByRole("button", { name: "Remove" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText("Removed key pem-key.").waitFor();
      assert.equal(
        (await listSenderKeys(server.deps, "partner.example.org")).some((k) => k.key_id === "pem-key"),
        false,
      );
    });

    await t.step("disable and enable", async () => {
      await page.getByRole("button", { name: "Disable" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText(/Disabled partner.example.org/).waitFor();
      assert.equal((await getSender(server.deps, "partner.example.org"))!.active, false);
      await page.getByRole("button", { name: "Enable" }).click();
      await page.getByText(/Enabled partner.example.org/).waitFor();
      assert.equal((await getSender(server.deps, "partner.example.org"))!.active, true);
    });

    await t.step("the list filters and pages by keyset", async () => {
      for (let i = 0; i < 55; i++) {
        await addSender(server.deps, `bulk-${String(i).padStart(3, "0")}.example`, {});
      }
      await page.goto(`${server.url}senders?q=bulk-`);
      assert.equal(await page.locator("tbody tr").count(), 50);
      assert.equal(
        await page.locator("tbody tr").first().locator("td").first().innerText(),
        "bulk-000.example",
      );
      await page.getByRole("link", { name: "Next page" }).click();
      assert.equal(await page.locator("tbody tr").count(), 5);
      assert.equal(
        await page.locator("tbody tr").first().locator("td").first().innerText(),
        "bulk-050.example",
      );
      assert.equal(await page.getByRole("link", { name: "Next page" }).count(), 0);
      await page.goto(`${server.url}senders?q=partner&state=active`);
      assert.equal(await page.locator("tbody tr").count(), 1);
      await page.goto(`${server.url}senders?state=disabled`);
      assert.equal(await page.locator("tbody tr").count(), 0);
    });

    await t.step("remove the sender after confirming", async () => {
      await page.goto(`${server.url}senders/partner.example.org`);
      await page.getByRole("button", { name: "Remove sender" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
      await page.getByText("Removed sender partner.example.org.").waitFor();
      assert.equal(page.url(), `${server.url}senders`);
      assert.equal(await getSender(server.deps, "partner.example.org"), undefined);
    });
  } finally {
    await context.close();
    await browser.close();
    await jwks.close();
    await server.close();
  }
});
