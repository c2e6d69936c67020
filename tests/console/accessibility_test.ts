/** Every console page checked by axe-core (WCAG 2 A and AA rules) in Chromium, and keyboard use with a visible focus. */
import assert, { equal } from "node:assert/strict";
import axeSource from "axe-core/axe.min.js" with { type: "text" };
import { BROWSER_TEST, launchBrowser, login, startConsole } from "../helpers/console_browser.ts";
import { NAV } from "../../src/console/nav.ts";
import { addSender } from "../../src/senders/store.ts";
import { createClient } from "../../src/senders/clients.ts";
import { PROGRESS_SQL, progressValues } from "../../src/registry/imports/store.ts";
import type { ImportReport } from "../../src/registry/batch.ts";
import type { TestDeps } from "../helpers/deps.ts";

/** Import 1 of the social registry, finished with a rejected row (the import pages' demo data). */
async function importJobWithRejects(deps: TestDeps): Promise<void> {
  const now = new Date().toISOString();
  const id = await deps.storage.importJobs.create({
    registry: "social",
    format: "csv",
    fileName: "people.csv",
    bytes: 120,
    spoolFile: "import-none.upload",
  }, now);
  // A batch's progress (store.ts recordProgress), written with its own statements on either backend.
  const batch = { read: 3, registered: 2, updated: 0, rejectedCount: 1 } as ImportReport;
  equal((await deps.sql(PROGRESS_SQL.counts, progressValues({ id, read: 0 }, batch))).length, 1);
  await deps.sql(PROGRESS_SQL.reject, [id, 0, 3, 'birth_date: "not-a-date" is not a date (YYYY-MM-DD)']);
  await deps.storage.importJobs.finish(id, now);
}

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

Deno.test(
  "console pages pass axe-core's WCAG 2 A/AA rules and work from the keyboard",
  BROWSER_TEST,
  async (t) => {
    const browser = await launchBrowser();
    const server = await startConsole();
    await addSender(server.deps, "openspp.example.org", { name: "OpenSPP" });
    await createClient(server.deps, "openspp.example.org", { name: "OpenSPP client" });
    await importJobWithRejects(server.deps);
    // axe is injected as an inline script: this context alone ignores the page's CSP to let it in.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    try {
      await t.step(
        "the checker itself finds an unlabelled input (so an empty result means something)",
        async () => {
          const p = await context.newPage();
          await p.setContent(
            '<html lang="en"><head><title>x</title></head><body><main><input type="text"></main></body></html>',
          );
          assert.ok((await axe(p)).some((v) => v.startsWith("label:")));
          await p.close();
        },
      );
      await login(page, server, server.adminToken);
      const paths = ["login-page", ...NAV.flatMap((p) => [p.path, ...(p.screenshots ?? [])])];
      for (const path of paths) {
        await t.step(`axe finds no WCAG 2 A/AA violation on console/${path}`, async () => {
          if (path === "login-page") {
            const anonymous = await browser.newContext({ bypassCSP: true });
            const p = await anonymous.newPage();
            await p.goto(`${server.url}login`);
            assert.deepEqual(await axe(p), []);
            await anonymous.close();
            return;
          }
          const answer = await page.goto(`${server.url}${path}`);
          assert.equal(answer?.status(), 200);
          assert.deepEqual(await axe(page), []);
        });
      }

      await t.step("the first Tab reaches the skip link, with a visible focus outline", async () => {
        await page.goto(`${server.url}senders`);
        await page.keyboard.press("Tab");
        // A string: the test is type-checked without the DOM library.
        const focused = await page.evaluate(`(() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return { text: el.textContent, outline: style.outlineStyle, width: style.outlineWidth };
      })()`) as { text: string; outline: string; width: string };
        assert.equal(focused.text, "Skip to content");
        assert.equal(focused.outline, "solid");
        assert.equal(focused.width, "3px");
        await page.keyboard.press("Enter");
        // The fragment navigation lands after the key press returns: wait for it (a failure times out).
        await page.waitForFunction(`location.hash === "#main"`, undefined, { timeout: 5_000 });
        assert.match(page.url(), /#main$/);
      });

      await t.step("a form can be filled and sent with the keyboard alone", async () => {
        await page.goto(`${server.url}senders`);
        await page.getByLabel("Sender id").focus();
        await page.keyboard.type("keyboard.example.org");
        await page.keyboard.press("Enter");
        await page.getByText("Created sender keyboard.example.org.").waitFor();
      });
    } finally {
      await context.close();
      await browser.close();
      await server.close();
    }
  },
);

/** axe-core's WCAG 2 A/AA violations on the page, as "rule: help (targets)". */
async function axe(page: import("playwright-core").Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const run =
      (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: unknown[] }> } }).axe.run;
    return (await run({ runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } })).violations;
  }) as AxeViolation[];
  return violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}
