/** The console's landing page: a summary of what the server holds (the full dashboard with charts grows here). */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import type { ConsoleEnv } from "../context.ts";
import { stmt } from "../../db/statements.ts";
import { VERSION } from "../../version.ts";

/** GET /console/ */
export function dashboardPage(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/", (c) => {
    const count = (sql: string) => (stmt(deps.db, sql).get() as { n: number }).n;
    const rows: [string, number][] = [
      ["Active senders", count("SELECT count(*) AS n FROM senders WHERE active = 1")],
      ["OAuth clients", count("SELECT count(*) AS n FROM oauth_clients WHERE revoked_at IS NULL")],
      ["Active admin tokens", count("SELECT count(*) AS n FROM admin_tokens WHERE revoked_at IS NULL")],
    ];
    return c.render(
      <>
        <p>
          dci-server <span class="mono">{VERSION}</span>, sender id{" "}
          <span class="mono">{deps.config.senderId}</span>.
        </p>
        <dl class="props">
          {rows.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
      </>,
      { title: "Dashboard" },
    );
  });
}
