/**
 * The console's landing page: health and readiness, what the server holds, and the charts of the last hour (per
 * minute) or day (per 10 minutes) from the metrics history (src/obs/dashboard.ts), as server-rendered SVG.
 */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import type { ConsoleEnv } from "../context.ts";
import { VERSION } from "../../version.ts";
import { readiness } from "../../system/routes.ts";
import type { DashboardRange } from "../../obs/dashboard.ts";
import { LineChart } from "../chart.tsx";

/** GET /console/?range=hour|day */
export function dashboardPage(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/", async (c) => {
    const n = await deps.storage.sessions.counts();
    const rows: [string, number][] = [
      ["Active senders", n.senders],
      ["OAuth clients", n.clients],
      ["Active admin tokens", n.adminTokens],
    ];
    const range: DashboardRange = c.req.query("range") === "day" ? "day" : "hour";
    const s = await deps.storage.history.series(range, deps.clock.now());
    const ready = await readiness(deps);
    const per = range === "day" ? "per 10 minutes" : "per minute";
    return c.render(
      <>
        <p>
          dci-server <span class="mono">{VERSION}</span>, sender id{" "}
          <span class="mono">{deps.config.senderId}</span>.
        </p>
        <section aria-labelledby="health-title">
          <h2 id="health-title">Health</h2>
          <dl class="props">
            <dt>Liveness</dt>
            <dd>
              <span class="badge on">ok</span>
            </dd>
            <dt>Readiness</dt>
            <dd>
              <span class={ready.status === "ok" ? "badge on" : "badge off"} id="readiness">
                {ready.status}
              </span>{" "}
              {Object.entries(ready.checks).map(([k, v]) => `${k} ${v}`).join(", ")}
            </dd>
            {rows.map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </>
            ))}
          </dl>
        </section>
        <nav aria-label="Chart window" class="filters">
          <a href="?range=hour" aria-current={range === "hour" ? "page" : undefined}>Last hour</a>{" "}
          <a href="?range=day" aria-current={range === "day" ? "page" : undefined}>Last day</a>
        </nav>
        <section class="charts" aria-label={`Charts, ${per}`}>
          <LineChart
            title="Requests by registry"
            unit={`requests ${per}`}
            series={s.requests.byRegistry}
            buckets={s.buckets}
          />
          <LineChart
            title="Requests by sender"
            unit={`requests ${per}`}
            series={s.requests.bySender}
            buckets={s.buckets}
          />
          <LineChart
            title="Requests by status"
            unit={`requests ${per}`}
            series={s.requests.byStatus}
            buckets={s.buckets}
          />
          <LineChart
            title="Rate-limit refusals"
            unit={`429 answers ${per}`}
            series={{ "429": s.rateLimited }}
            buckets={s.buckets}
          />
          <LineChart title="Callbacks" unit={`attempts ${per}`} series={s.callbacks} buckets={s.buckets} />
          <LineChart
            title="Notifications"
            unit={`attempts ${per}`}
            series={s.notifications}
            buckets={s.buckets}
          />
          <LineChart title="Queue depth" unit="peak waiting items" series={s.queue} buckets={s.buckets} />
        </section>
      </>,
      { title: "Dashboard" },
    );
  });
}
