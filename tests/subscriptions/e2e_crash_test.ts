import assert from "node:assert/strict";
import { createServerSender } from "../helpers/auth.ts";
import { startReceiver } from "./helpers.ts";
import {
  admin,
  importFromCli,
  notifiesOf,
  recordOf,
  startServer,
  subscribeVia,
  updates,
} from "./e2e_support.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

/**
 * On PostgreSQL a restarted instance releases no lease (another instance may hold it and be working): the work and
 * the lanes the killed one held are redone once its leases lapse, so these servers lease for 5 s, not 60.
 */
const LEASE: Record<string, string> = TEST_BACKEND === "postgres" ? { DCI_LEASE_SECONDS: "5" } : {};

Deno.test("e2e: SIGKILL between registry changes and their notifications loses nothing after restart", async () => {
  const rx = startReceiver();
  let server = await startServer(LEASE);
  const dataDir = server.dataDir;
  try {
    const dave = await createServerSender(server, { auto_approve_subscriptions: true });
    const [item] = await subscribeVia(server, dave, rx, "d-sub", [
      { reg_event_type: "update", notify_record_type: "person" },
    ]);
    const code = item.subscriptions![0].code;
    await updates(server, "z1", ["unknown"]); // registration (not subscribed)
    // The receiver refuses notifications while the server runs, so they are logged and pending when it dies.
    rx.status = (r) => r.path.endsWith("/notify") ? 503 : 200;
    await updates(server, "z1", ["male", "female"]);
    await rx.until(() => rx.hits >= 2); // the first notification was attempted (and refused)
    assert.equal(await server.stop("SIGKILL"), 137);
    // More changes while the server is down, made by another process (the CLI importer).
    await importFromCli({ dataDir }, "z1", ["other", "unknown", "male"]);
    rx.status = () => 200;
    server = await startServer(LEASE, dataDir);
    await rx.until(() =>
      new Set(notifiesOf(rx, code).map((r) => r.headers.get("x-dci-notification-id"))).size === 5
    );
    // In event order; at-least-once delivery may repeat one, never reorder or skip.
    const seen: string[] = [];
    for (const r of notifiesOf(rx, code)) {
      const sex = String(recordOf(r).sex);
      if (seen.at(-1) !== sex) seen.push(sex);
    }
    assert.deepEqual(seen, ["male", "female", "other", "unknown", "male"]);
    const log = await admin(server, "GET", `/notifications?subscription=${code}`);
    const statuses = (log.body.items as Array<{ status: string }>).map((n) => n.status);
    assert.deepEqual(statuses, ["sent", "sent", "sent", "sent", "sent"]);
  } finally {
    await server.stop();
    await rx.close();
  }
});
