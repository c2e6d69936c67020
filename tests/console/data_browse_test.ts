/**
 * The console's subscription, notification and registry pages in Chromium: approve and cancel a subscription
 * (audited with the session's token), its notifications and the filtered notification log; the registry browser
 * finds records by family name and identifier, shows a record as a form and as JSON-LD, and the recent changes.
 */
import assert from "node:assert/strict";
import { BROWSER_TEST, launchBrowser, loggedInPage, startConsole } from "../helpers/console_browser.ts";

Deno.test("console subscriptions, notification log and registry browser", BROWSER_TEST, async (t) => {
  const browser = await launchBrowser();
  const server = await startConsole();
  const deps = server.deps;
  try {
    const at = "2026-04-01T00:00:00Z";
    await deps.sql(
      `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
         dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
       VALUES ('sub-ui-1', 'partner', 'social', 'registration', 'person', 'Person', 'd1', 'https://p.example/n',
         'pending', 'c1', 'sub-ui-1', ?, ?)`,
      [at, at],
    );
    const subId = Number((await deps.sql("SELECT id FROM subscriptions"))[0].id);
    for (const [i, status] of ["sent", "failed"].entries()) {
      await deps.sql(
        `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
           record_count, message_id, status, last_error, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, 'registration', 'person', 1, ?, ?, ?, ?, ?, ?)`,
        [
          `note-${status}`,
          subId,
          i + 1,
          `m${i}`,
          status,
          status === "failed" ? "HTTP 503" : null,
          at,
          at,
          at,
        ],
      );
    }
    for (
      const [id, surname, uin] of [["R1", "Banda", "UIN-1"], ["R2", "Phiri", "UIN-2"], [
        "R3",
        "bandawe",
        "UIN-3",
      ]]
    ) {
      const res = await fetch(`${server.origin}/admin/v1/registries/social/registrants`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          id,
          identifier: [{ identifier_type: "UIN", identifier_value: uin }],
          name: { given_name: "Ana", surname },
          birth_date: "1990-01-02",
        }),
      });
      assert.equal(res.status, 201, await res.text());
    }
    const { context, page } = await loggedInPage(browser, server, server.adminToken);

    await t.step(
      "approve then cancel a subscription; both are audited with the session's token",
      async () => {
        await page.goto(`${server.url}subscriptions`);
        await page.getByLabel("State").selectOption("pending");
        await page.getByRole("button", { name: "Filter" }).click();
        await page.getByRole("link", { name: "sub-ui-1" }).click();
        assert.match(await page.locator("#subscription-props").textContent() ?? "", /Statepending/);
        assert.match(await page.locator("tbody").textContent() ?? "", /note-failed.*HTTP 503/s);
        await page.getByRole("button", { name: "Approve" }).click();
        await page.getByText("Subscription sub-ui-1 is now active.").waitFor();
        await page.getByRole("button", { name: "Cancel", exact: true }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
        await page.getByText("Subscription sub-ui-1 is now cancelled.").waitFor();
        const audited = (await deps.storage.audit.list({ targetId: "sub-ui-1" })).items;
        assert.deepEqual(audited.map((a) => a.action), ["subscription.cancel", "subscription.approve"]);
        assert.ok(audited.every((a) => a.source === "console" && a.actor === server.adminTokenId));
      },
    );

    await t.step("the notification log filters by status", async () => {
      await page.goto(`${server.url}notifications`);
      assert.equal(await page.locator("tbody tr").count(), 2);
      await page.getByLabel("Status").selectOption("failed");
      await page.getByRole("button", { name: "Filter" }).click();
      assert.equal(await page.locator("tbody tr").count(), 1);
      assert.match(await page.locator("tbody").textContent() ?? "", /note-failed/);
    });

    await t.step("the registry browser searches by name and identifier and shows a record", async () => {
      await page.goto(`${server.url}registry`);
      assert.equal(page.url(), `${server.url}registry/social`);
      assert.match(await page.locator("table").last().textContent() ?? "", /registration/, "recent changes");
      await page.getByRole("textbox", { name: /^Search/ }).fill("band");
      await page.getByRole("button", { name: "Filter" }).click();
      const ids = await page.locator("tbody").first().locator("tr td:first-child").allTextContents();
      assert.deepEqual(ids, ["R1", "R3"]);
      await page.getByRole("textbox", { name: /^Search/ }).fill("UIN-2");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.getByRole("link", { name: "R2" }).click();
      assert.match(await page.locator("#record-props").textContent() ?? "", /NameAna Phiri/);
      const jsonld = JSON.parse(await page.locator("#record-jsonld").textContent() ?? "{}");
      assert.ok(
        String(jsonld["@id"] ?? jsonld.identifier ?? "").length > 0 || jsonld["@type"],
        "JSON-LD record",
      );
    });
    await context.close();

    await t.step("a viewer sees the subscription without approve or cancel buttons", async () => {
      const viewer = await loggedInPage(browser, server, server.viewerToken);
      await viewer.page.goto(`${server.url}subscriptions/sub-ui-1`);
      await viewer.page.locator("#subscription-props").waitFor();
      assert.equal(
        await viewer.page.getByRole("button").filter({ hasText: /Approve|Cancel|Reactivate/ }).count(),
        0,
      );
      await viewer.context.close();
    });
  } finally {
    await server.close();
    await browser.close();
  }
});
