/**
 * The console in Chromium tells a held notification from a stuck one: a subscription's page shows its frequency
 * (the cron), start and end, and its notifications and the notification log show when a pending one is due.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { BROWSER_TEST, launchBrowser, loggedInPage, startConsole } from "../helpers/console_browser.ts";

/** The text of each row's cell under `heading` in the page's first table. */
async function cells(page: Page, heading: string): Promise<string[]> {
  const headings = await page.locator("table").first().locator("thead th").allTextContents();
  const at = headings.indexOf(heading);
  assert.ok(at >= 0, `a "${heading}" column in ${JSON.stringify(headings)}`);
  return await page.locator("table").first().locator(`tbody tr td:nth-child(${at + 1})`).allTextContents();
}

Deno.test(
  "console: a subscription's frequency, start and end, and when each pending notification is due",
  BROWSER_TEST,
  async (t) => {
    const browser = await launchBrowser();
    const server = await startConsole();
    const deps = server.deps;
    try {
      const at = "2026-04-01T00:00:00.000Z";
      const due = "2026-04-02T00:00:00.000Z";
      await deps.sql(
        `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
         frequency, dedupe_key, callback_url, start_time, end_time, state, correlation_id, reference_id,
         created_at, updated_at)
       VALUES ('sub-cron-1', 'partner', 'social', 'registration', 'person', 'Person', ?, 'd1',
         'https://p.example/n', ?, ?, 'active', 'c1', 'r1', ?, ?)`,
        [
          JSON.stringify({ start_time: "2026-04-01", end_time: "2026-05-01", frequency: "0 0 * * *" }),
          at,
          "2026-05-01T00:00:00.000Z",
          at,
          at,
        ],
      );
      const subId = Number((await deps.sql("SELECT id FROM subscriptions"))[0].id);
      for (
        const [i, [id, status, next]] of [["note-sent", "sent", at], ["note-held", "pending", due]].entries()
      ) {
        await deps.sql(
          `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
           record_count, message_id, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, 'registration', 'person', 1, ?, ?, ?, ?, ?)`,
          [id, subId, i + 1, `m${i}`, status, next, at, at],
        );
      }
      const { context, page } = await loggedInPage(browser, server, server.viewerToken);

      await t.step(
        "the subscription's page shows its frequency, start and end, and the held one's due time",
        async () => {
          await page.goto(`${server.url}subscriptions/sub-cron-1`);
          const props = await page.locator("#subscription-props").textContent() ?? "";
          assert.match(props, /Frequency0 0 \* \* \*/);
          assert.match(props, /Start2026-04-01T00:00:00\.000Z/);
          assert.match(props, /End2026-05-01T00:00:00\.000Z/);
          const ids = await cells(page, "Notification id");
          const dues = await cells(page, "Due");
          assert.deepEqual(Object.fromEntries(ids.map((id, i) => [id, dues[i]])), {
            "note-held": due,
            "note-sent": "",
          });
        },
      );

      await t.step("the notification log shows when each pending notification is due", async () => {
        await page.goto(`${server.url}notifications`);
        const ids = await cells(page, "Notification id");
        const dues = await cells(page, "Due");
        assert.equal(dues[ids.indexOf("note-held")], due);
        assert.equal(dues[ids.indexOf("note-sent")], "");
      });

      await t.step("a subscription without a frequency says it is notified at once", async () => {
        await deps.sql(
          `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
           dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
         VALUES ('sub-now-1', 'partner', 'social', 'registration', 'person', 'Person', 'd2', 'https://p.example/n',
           'active', 'c2', 'r2', ?, ?)`,
          [at, at],
        );
        await page.goto(`${server.url}subscriptions/sub-now-1`);
        const props = await page.locator("#subscription-props").textContent() ?? "";
        assert.match(props, /Frequencynone \(each event at once\)Startnone.*Endnone/s);
      });
      await context.close();
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
