/**
 * The console's transaction page of a bulk search in Chromium: its progress line and the table of its pages not
 * delivered (state, attempts, last error), as the admin API and `txn show` list them; a page delivered leaves it.
 */
import assert from "node:assert/strict";
import { BROWSER_TEST, launchBrowser, loggedInPage, startConsole } from "../helpers/console_browser.ts";
import { createTestSender } from "../helpers/auth.ts";
import { iso, newTxn, T0 } from "../helpers/txn_rows.ts";

Deno.test(
  "console: a bulk search's page lists the pages not delivered with their attempts and last error",
  BROWSER_TEST,
  async () => {
    const browser = await launchBrowser();
    const server = await startConsole();
    const { storage } = server.deps;
    try {
      const alice = await createTestSender(server.deps);
      const { row } = await storage.transactions.insert(newTxn(alice.senderId, "bulk-console"), {
        spool: "f.lookups",
        file_name: "people.csv",
        file_format: "csv",
        items_total: 25,
        page_size: 10,
      });
      assert.ok(await storage.transactions.claimProcessing(row.id, "w", iso(T0), iso(T0 + 60_000)));
      for (const n of [1, 2, 3]) {
        assert.ok(
          await storage.bulk.storePage({
            txn: row.id,
            page: n,
            items: n === 3 ? 5 : 10,
            completed: Math.min(25, n * 10),
            message: JSON.stringify({ page: n }),
            nextOffset: n * 100,
          }),
        );
      }
      await storage.bulk.recordPageAttempt({ txn: row.id, page: 1, outcome: "sent", now: iso(T0 + 1) });
      const failure = "HTTP 500 from callback URL <b>no markup</b>";
      await storage.bulk.recordPageAttempt({
        txn: row.id,
        page: 2,
        outcome: "failed",
        error: failure,
        now: iso(T0 + 2),
      });

      const { context, page } = await loggedInPage(browser, server, server.viewerToken);
      await page.goto(`${server.url}transactions/${encodeURIComponent(row.correlation_id)}`);
      assert.match(await page.locator("#txn-props").innerText(), /Bulk file\s+people\.csv/);
      const table = page.getByRole("table", {
        name: "Pages of the bulk search not delivered, in page order",
      });
      const rows = await table.locator("tbody tr").all();
      const cells = await Promise.all(
        rows.map(async (r) => (await r.locator("td").allTextContents()).map((c) => c.trim())),
      );
      // Page 2 failed for good (its error shown as text); page 3 is built and waits for its first attempt.
      assert.deepEqual(cells, [["2", "failed", "1", failure], ["3", "pending", "0", ""]]);

      // Page 3 delivered: it leaves the table.
      await storage.bulk.recordPageAttempt({ txn: row.id, page: 3, outcome: "sent", now: iso(T0 + 3) });
      await page.reload();
      const left = await table.locator("tbody tr").allInnerTexts();
      assert.equal(left.length, 1);
      assert.match(left[0], /^2\s+failed\s+1\s+HTTP 500/);
      await context.close();
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
