/**
 * The console's data pages in Chromium: a transaction whose callback failed is found by its state, shows its
 * error and the table of its callback attempts, is retried with the Retry button and delivered to a loopback
 * receiver (its attempt follows the earlier ones); the retry is in the audit log with the session's token id
 * (filters, CSV export); the dashboard shows health and the SVG charts; a viewer finds no Retry button.
 */
import assert from "node:assert/strict";
import type { Locator } from "playwright-core";
import { BROWSER_TEST, launchBrowser, loggedInPage, startConsole } from "../helpers/console_browser.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { searchMessage } from "../transactions/support.ts";
import { createWorker } from "../../src/actions/worker.ts";
import { startHistorySampler } from "../../src/obs/history.ts";
import { specFetch } from "../helpers/spec_hooks.ts";
import { addSender } from "../../src/senders/store.ts";

/** A loopback callback receiver answering `status()`; records the bodies it accepted. */
function receiver() {
  const got: Array<Record<string, unknown>> = [];
  const r = { status: 500, got, url: "", close: () => server.shutdown() };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json().catch(() => ({}));
    if (r.status < 300) got.push(body);
    return Response.json({ message: { ack_status: r.status < 300 ? "ACK" : "ERR" } }, { status: r.status });
  });
  r.url = `http://127.0.0.1:${server.addr.port}`;
  return r;
}

/** The attempt table's rows as [#, status / code, outcome, error] (when and duration vary). */
async function attemptRows(table: Locator): Promise<string[][]> {
  const rows = await table.locator("tbody tr").all();
  return await Promise.all(rows.map(async (row) => {
    const cells = (await row.locator("td").allTextContents()).map((c) => c.trim());
    assert.match(cells[1], /^\d{4}-\d\d-\d\dT/, "when");
    assert.match(cells[2], /^\d+ ms$/, "duration");
    return [cells[0], cells[3], cells[4], cells[5]];
  }));
}

Deno.test(
  "console data pages: transactions with Retry, audit log with CSV, dashboard charts",
  BROWSER_TEST,
  async (t) => {
    const browser = await launchBrowser();
    const server = await startConsole({ outboundAllow: "127.0.0.1" });
    const rx = receiver();
    const deps = server.deps;
    try {
      const alice = await createTestSender(deps);
      const worker = createWorker(deps, { random: () => 0.5 });
      const sampler = startHistorySampler(deps, { intervalMs: 0 });
      const env = requestEnvelope(alice.senderId, searchMessage("t-console"), {
        action: "search",
        nowMs: deps.clock.now(),
        totalCount: 1,
        header: { sender_uri: `${rx.url}/cb` },
      });
      const res = await specFetch(`${server.origin}/registry/search`, {
        method: "POST",
        headers: { "content-type": "application/json", ...alice.headers() },
        body: JSON.stringify(alice.sign(env, deps.clock.now())),
      });
      assert.equal(res.status, 202);
      const corr = ((await res.json()).message as { correlation_id: string }).correlation_id;
      const id = (await deps.storage.transactions.getByCorrelationId(corr))!.id;
      await worker.handle(id);
      for (const step of [100, 200, 400]) {
        deps.clock.advance(step);
        await worker.handle(id);
      }
      assert.equal((await deps.storage.transactions.getByCorrelationId(corr))!.state, "callback_failed");
      await sampler.sample();

      const { context, page } = await loggedInPage(browser, server, server.adminToken);
      await t.step("the dashboard shows readiness and the request, callback and queue charts", async () => {
        await page.goto(server.url);
        assert.equal(await page.locator("#readiness").textContent(), "ok");
        for (const title of ["Requests by registry", "Callbacks", "Queue depth", "Rate-limit refusals"]) {
          await page.getByRole("figure", { name: title }).waitFor();
        }
        const registry = page.getByRole("figure", { name: "Requests by registry" });
        assert.equal(await registry.locator("polyline[data-series=social]").count(), 1);
        assert.match(await registry.locator("ul.legend").textContent() ?? "", /social: 1/);
        assert.match(
          await page.getByRole("figure", { name: "Callbacks" }).locator("ul.legend").textContent() ?? "",
          /retry: 3.*failed: 1|failed: 1.*retry: 3/,
        );
        await page.getByRole("link", { name: "Last day" }).click();
        await page.getByRole("figure", { name: "Requests by sender" }).waitFor();
      });

      await t.step(
        "a failed callback is found by state, shows its error and is retried to delivery",
        async () => {
          await page.goto(`${server.url}transactions`);
          await page.getByLabel("State").selectOption("callback_failed");
          await page.getByRole("button", { name: "Filter" }).click();
          await page.getByRole("link", { name: corr }).click();
          const props = page.locator("#txn-props");
          assert.match(await props.textContent() ?? "", /Last callback errorHTTP 500 from callback URL/);
          assert.match(await props.textContent() ?? "", /Callback attempts4/);
          const attempts = page.getByRole("table", { name: "Callback attempts, oldest first" });
          assert.deepEqual(await attemptRows(attempts), [
            ["1", "500", "retry", "HTTP 500 from callback URL"],
            ["2", "500", "retry", "HTTP 500 from callback URL"],
            ["3", "500", "retry", "HTTP 500 from callback URL"],
            ["4", "500", "failed", "HTTP 500 from callback URL"],
          ]);
          assert.match(await page.locator("pre.json").first().textContent() ?? "", /"t-console"/);
          rx.status = 200;
          await page.getByRole("button", { name: "Retry callback" }).click();
          await page.getByText("Callback retry scheduled").waitFor();
          await worker.handle(id);
          assert.equal((await deps.storage.transactions.getByCorrelationId(corr))!.state, "callback_sent");
          assert.equal(rx.got.length, 1, "the receiver got the on-search callback");
          assert.equal((rx.got[0].message as Record<string, unknown>).correlation_id, corr);
          await page.reload();
          assert.match(await page.locator("#txn-props").textContent() ?? "", /Statecallback_sent/);
          const after = await attemptRows(
            page.getByRole("table", { name: "Callback attempts, oldest first" }),
          );
          assert.equal(after.length, 5, "the retry's attempt follows the four earlier ones");
          assert.deepEqual(after[4], ["5", "200", "sent", ""]);
          assert.equal(await page.getByRole("button", { name: "Retry callback" }).count(), 0);
        },
      );

      await t.step(
        "the retry is in the audit log with the session's token id; filter and CSV export",
        async () => {
          await page.goto(`${server.url}audit`);
          await page.getByLabel("Action").fill("transaction.retry");
          await page.getByRole("button", { name: "Filter" }).click();
          const rows = page.locator("tbody tr");
          assert.equal(await rows.count(), 1);
          const row = await rows.first().textContent() ?? "";
          assert.ok(row.includes(`token:${server.adminTokenId}`), row);
          assert.ok(row.includes("console") && row.includes(`transaction ${corr}`), row);
          const href = await page.getByRole("link", { name: "Export as CSV" }).getAttribute("href");
          const csv = await page.evaluate(async (u) => await (await fetch(u!)).text(), href);
          const lines = csv.trimEnd().split("\r\n");
          assert.equal(lines.length, 2, csv);
          assert.match(
            lines[1],
            new RegExp(`,console,token,${server.adminTokenId},transaction.retry,transaction,${corr},`),
          );
        },
      );
      await context.close();

      await t.step("a viewer sees the failed-then-sent transaction without any Retry button", async () => {
        await deps.sql("UPDATE transactions SET state = 'callback_failed' WHERE id = ?", [id]);
        const viewer = await loggedInPage(browser, server, server.viewerToken);
        await viewer.page.goto(`${server.url}transactions/${corr}`);
        await viewer.page.locator("#txn-props").waitFor();
        assert.equal(await viewer.page.getByRole("button", { name: "Retry callback" }).count(), 0);
        // A sender's settings, read in fields the viewer cannot change (no form to post).
        await addSender(deps, "viewer-check.example", { limit_day: 5 });
        await viewer.page.goto(`${server.url}senders/viewer-check.example`);
        const perDay = viewer.page.getByLabel("Requests per day");
        assert.deepEqual([await perDay.isDisabled(), await perDay.inputValue()], [true, "5"]);
        assert.equal(await viewer.page.getByLabel("Envelope signature policy").isDisabled(), true);
        assert.equal(await viewer.page.getByRole("button", { name: "Save settings" }).count(), 0);
        await viewer.context.close();
      });
      sampler.stop();
    } finally {
      await rx.close();
      await server.close();
      await browser.close();
    }
  },
);
