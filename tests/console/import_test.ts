/**
 * Registry → Import in Chromium: an admin uploads a small CSV with one bad row, watches the job page (polled by
 * htmx) reach done, sees the rejected row with its line and reason, and finds an imported record in the registry
 * browser; the upload is audited as the session's token. A viewer sees no import control and a forged upload
 * from a viewer session is refused; an upload without the CSRF field is refused before any file is taken.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import {
  BROWSER_TEST,
  type ConsoleServer,
  launchBrowser,
  loggedInPage,
  startConsole,
} from "../helpers/console_browser.ts";
import { startImportRunner } from "../../src/registry/imports/runner.ts";
import { IMPORT_KIND } from "../../src/registry/imports/service.ts";

const CSV = "id,given_name,surname,sex,birth_date,id.UIN\n" +
  "UI-1,Ana,Banda,female,1990-01-02,UIN-UI-1\n" +
  "UI-2,Ben,Phiri,male,not-a-date,UIN-UI-2\n" +
  "UI-3,Cleo,Mwale,female,1985-07-30,UIN-UI-3\n";

/** Posts a multipart upload from inside the page (with its cookies), as a forged or tampered form would. */
async function postUpload(
  page: Page,
  action: string,
  fields: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return await page.evaluate(async ({ action, fields, csv }) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append("file", new Blob([csv], { type: "text/csv" }), "forged.csv");
    const res = await fetch(action, { method: "POST", body: form, credentials: "same-origin" });
    return { status: res.status, text: await res.text() };
  }, { action, fields, csv: CSV });
}

async function jobCount(server: ConsoleServer): Promise<number> {
  return Number((await server.deps.sql("SELECT COUNT(*) AS n FROM registry_imports"))[0].n);
}

Deno.test(
  "console registry import: upload, watch progress, rejected rows, viewer and CSRF refusals",
  BROWSER_TEST,
  async (t) => {
    const browser = await launchBrowser();
    const server = await startConsole();
    // The worker side of this in-process server: the import runner, woken by the queue as `serve` wakes it.
    const runner = startImportRunner(server.deps);
    server.deps.queue.listen((m) => Promise.resolve(m.kind === IMPORT_KIND ? runner.wake() : undefined));
    try {
      const { context, page } = await loggedInPage(browser, server, server.adminToken);

      await t.step(
        "an admin uploads a CSV and watches the job reach done with its rejected row",
        async () => {
          await page.goto(`${server.url}registry/social`);
          await page.getByRole("link", { name: "Import records into social" }).click();
          await page.locator('input[type="file"][name="file"]').setInputFiles({
            name: "people.csv",
            mimeType: "text/csv",
            buffer: Buffer.from(CSV),
          });
          await page.getByRole("button", { name: "Import", exact: true }).click();
          await page.waitForURL(/registry\/social\/imports\/\d+$/);
          await page.getByText("is queued.").waitFor();
          // htmx polls the progress part every second until the job has ended.
          await page.locator("#import-props .badge", { hasText: "done" }).waitFor({ timeout: 60_000 });
          const props = await page.locator("#import-props").textContent() ?? "";
          assert.match(props, /Read3/);
          assert.match(props, /Registered2/);
          assert.match(props, /Rejected1/);
          const row = page.locator("#import-progress tbody tr");
          assert.equal(await row.count(), 1);
          assert.equal(await row.locator("td").nth(0).textContent(), "3");
          assert.match(await row.locator("td").nth(1).textContent() ?? "", /birth_date/);
          // Polling stopped with the last swap: the finished part has no trigger.
          assert.equal(await page.locator("#import-progress").getAttribute("hx-trigger"), null);
          const audited = (await server.deps.storage.audit.list({ action: "registry.import" })).items;
          assert.equal(audited.length, 1);
          assert.equal(audited[0].source, "console");
          assert.equal(audited[0].actor, server.adminTokenId);
          // As the admin API records an import: under its registry, the job in the detail.
          assert.deepEqual([audited[0].target_kind, audited[0].target_id], ["registry", "social"]);
          assert.equal(typeof audited[0].detail.job_id, "number");
        },
      );

      await t.step(
        "the imported record is found in the registry browser; the list shows the import",
        async () => {
          await page.goto(`${server.url}registry/social`);
          await page.getByRole("textbox", { name: /^Search/ }).fill("Mwale");
          await page.getByRole("button", { name: "Filter" }).click();
          await page.getByRole("link", { name: "UI-3" }).click();
          assert.match(await page.locator("#record-props").textContent() ?? "", /Cleo Mwale/);
          await page.goto(`${server.url}registry/social/imports`);
          assert.match(await page.locator("tbody").textContent() ?? "", /people\.csv.*done/s);
        },
      );

      await t.step("an upload without its CSRF field is refused before any file is taken", async () => {
        const before = await jobCount(server);
        const res = await postUpload(page, `${server.url}registry/social/imports`, {});
        assert.equal(res.status, 403);
        assert.match(res.text, /CSRF/);
        const wrong = await postUpload(page, `${server.url}registry/social/imports`, {
          _csrf: "not-the-token",
        });
        assert.equal(wrong.status, 403);
        assert.equal(await jobCount(server), before);
      });
      await context.close();

      await t.step(
        "a viewer sees no import control, and a forged upload from its session is refused",
        async () => {
          const viewer = await loggedInPage(browser, server, server.viewerToken);
          await viewer.page.goto(`${server.url}registry/social/imports`);
          assert.equal(await viewer.page.locator('input[type="file"]').count(), 0);
          assert.equal(await viewer.page.getByRole("button", { name: "Import", exact: true }).count(), 0);
          assert.match(await viewer.page.locator("tbody").textContent() ?? "", /people\.csv/);
          const csrf = await viewer.page.locator('input[name="_csrf"]').first().inputValue();
          const before = await jobCount(server);
          const res = await postUpload(viewer.page, `${server.url}registry/social/imports`, { _csrf: csrf });
          assert.equal(res.status, 403);
          assert.match(res.text, /may only read/);
          assert.equal(await jobCount(server), before);
          await viewer.context.close();
        },
      );
    } finally {
      await runner.stop();
      await browser.close();
      await server.close();
    }
  },
);

Deno.test(
  "console import: a session ending while the progress is polled takes the browser to a login that works",
  BROWSER_TEST,
  async () => {
    const browser = await launchBrowser();
    const server = await startConsole({ consoleSessionTtl: "1h" });
    // No import runner: the job stays queued, so its page keeps polling.
    try {
      const { context, page } = await loggedInPage(browser, server, server.adminToken);
      await page.goto(`${server.url}registry/social`);
      await page.getByRole("link", { name: "Import records into social" }).click();
      await page.locator('input[type="file"][name="file"]').setInputFiles({
        name: "people.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(CSV),
      });
      await page.getByRole("button", { name: "Import", exact: true }).click();
      await page.waitForURL(/registry\/social\/imports\/\d+$/);
      assert.equal(await page.locator("#import-progress").getAttribute("hx-trigger"), "every 1s");
      // The session ends (its TTL passes) while the page polls: the next poll loads the login page whole, not
      // a login form swapped into the job page (whose relative action would post to the wrong URL).
      server.deps.clock.advance(3600_000);
      await page.waitForURL(`${server.url}login`, { timeout: 10_000 });
      await page.getByLabel("Admin or viewer token").fill(server.adminToken);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(server.url);
      await context.close();
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
