/**
 * Memory that inputs can grow stays bounded. The one structure found keyed by what a client sends: the metrics
 * registry, whose `dci_http_requests_total` was labelled with the request method verbatim, and an HTTP method
 * is any token a client likes (`XYZ123`, 3,000 letters): each new one added a series for the life of the
 * process, in memory and on every /metrics page. (The resident growth after a fuzz run is the allocator
 * keeping freed native memory, not a structure: see the figures in the report.)
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { MAX_SERIES_PER_FAMILY, Metrics } from "../../src/obs/metrics.ts";
import { startServerProcess } from "../helpers/server.ts";

/** The series lines of `family` in a Prometheus exposition. */
function seriesOf(exposition: string, family: string): string[] {
  return exposition.split("\n").filter((l) => l.startsWith(`${family}{`));
}

Deno.test("createApp(): 5,000 requests with distinct methods leave dci_http_requests_total with a bounded series count", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    for (let i = 0; i < 5000; i++) {
      const res = await app.request(`/healthz`, { method: `M${i}${"X".repeat(i % 50)}` });
      await res.body?.cancel();
    }
    const series = seriesOf(deps.metrics.render(), "dci_http_requests_total");
    assert.ok(series.length <= 5, `${series.length} series, e.g. ${series.slice(0, 3).join(" | ")}`);
    assert.ok(series.some((l) => l.includes('method="other"')), series.join("\n"));
  } finally {
    deps.close();
  }
});

Deno.test("Metrics keeps at most MAX_SERIES_PER_FAMILY series per family (and one overflow series), whatever the label values", () => {
  const m = new Metrics();
  for (let i = 0; i < MAX_SERIES_PER_FAMILY * 5; i++) {
    m.inc("t_total", "test", { key: `k${i}` });
    m.observe("t_seconds", "test", { key: `k${i}`, kind: "x" }, 0.01);
  }
  const text = m.render();
  const counters = seriesOf(text, "t_total");
  assert.equal(counters.length, MAX_SERIES_PER_FAMILY + 1);
  assert.ok(counters.includes(`t_total{key="other"} ${MAX_SERIES_PER_FAMILY * 4}`), counters.at(-1));
  const histograms = seriesOf(text, "t_seconds_count");
  assert.equal(histograms.length, MAX_SERIES_PER_FAMILY + 1);
  assert.ok(histograms.includes(`t_seconds_count{key="other",kind="other"} ${MAX_SERIES_PER_FAMILY * 4}`));
  // What went to "other" is counted by family, so an alert can see a family outgrow its cap.
  assert.deepEqual(seriesOf(text, "dci_metrics_series_overflow_total"), [
    `dci_metrics_series_overflow_total{family="t_total"} ${MAX_SERIES_PER_FAMILY * 4}`,
    `dci_metrics_series_overflow_total{family="t_seconds"} ${MAX_SERIES_PER_FAMILY * 4}`,
  ]);
  // Every observation is still counted.
  const total = counters.reduce((a, l) => a + Number(l.split(" ").at(-1)), 0);
  assert.equal(total, MAX_SERIES_PER_FAMILY * 5);
});

Deno.test("serve: methods a client invents do not add /metrics series (real server, real HTTP)", async () => {
  const server = await startServerProcess();
  try {
    const metricsLines = async () =>
      seriesOf(await fetch(`${server.url}/metrics`).then((r) => r.text()), "dci_http_requests_total").length;
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${server.url}/healthz`, { method: `INVENTED${i}` });
      await res.body?.cancel();
    }
    const after = await metricsLines();
    assert.ok(after <= 5, `${after} dci_http_requests_total series after 300 invented methods`);
  } finally {
    await server.stop();
  }
});
