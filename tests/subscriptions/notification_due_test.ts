/**
 * An operator tells a held notification from a stuck one: the real server holds an event of a daily-cron
 * subscription while the same sender's immediate subscription to the same events is notified at once, and
 * `notification list` shows when the held one is due (DUE, its next_attempt_at; nothing for one already sent).
 */
import assert from "node:assert/strict";
import { postJson, runCliProcess, startServerProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { person, startReceiver } from "./helpers.ts";

const ADMIN = "admin-token-for-due-test-0123456789abcdef";

type Json = Record<string, unknown>;

async function admin(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Json };
}

/** The cell under `heading` of each row of a CLI table (columns are aligned under their headings). */
function column(table: string, heading: string): string[] {
  const [head, ...rows] = table.trimEnd().split("\n");
  const at = head.search(new RegExp(`\\b${heading}\\b`));
  const next = head.slice(at + heading.length).search(/\S/);
  const end = next < 0 ? undefined : at + heading.length + next;
  return rows.map((r) => r.slice(at, end).trim());
}

Deno.test("notification list shows when a held notification is due, and nothing for a sent one", async () => {
  const rx = startReceiver();
  const server = await startServerProcess({
    env: { DCI_ADMIN_TOKEN: ADMIN, DCI_OUTBOUND_ALLOW: "127.0.0.1" },
  });
  try {
    const s = await createServerSender(server, {
      auto_approve_subscriptions: true,
      callback_base_url: rx.url,
    });
    const now = Date.now();
    const criteria = { reg_event_type: "registration", notify_record_type: "person" };
    const env = requestEnvelope(s.senderId, {
      transaction_id: crypto.randomUUID(),
      subscribe_request: [
        { reference_id: "now", timestamp: new Date(now).toISOString(), subscribe_criteria: criteria },
        {
          reference_id: "daily",
          timestamp: new Date(now).toISOString(),
          subscribe_criteria: {
            ...criteria,
            frequency: {
              start_time: new Date(now).toISOString(),
              end_time: new Date(now + 86_400_000).toISOString(),
              frequency: "0 0 * * *",
            },
          },
        },
      ],
    }, { action: "subscribe", totalCount: 2 });
    const ack = await postJson(
      `${server.url}/dci_api/v1/social/registry/subscribe`,
      s.sign(env),
      s.headers(),
    );
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    await rx.until((all) => all.some((r) => r.path.endsWith("/on-subscribe")));
    const items = (rx.received.find((r) => r.path.endsWith("/on-subscribe"))!.body.message as Json)
      .subscribe_response as Array<{ status: string; subscriptions: Array<{ code: string }> }>;
    assert.deepEqual(items.map((i) => i.status), ["succ", "succ"], "both: one sender, two schedules");
    const [immediate, daily] = items.map((i) => i.subscriptions[0].code);

    assert.equal((await admin(server.url, "POST", "/admin/v1/registrants", person("p1"))).status, 201);
    await rx.until((all) => all.some((r) => r.path.endsWith("/notify")));
    let held: Json | undefined;
    for (let i = 0; i < 100 && !held; i++) {
      const l = await admin(server.url, "GET", `/admin/v1/notifications?subscription=${daily}`);
      held = (l.body.items as Json[])[0];
      if (!held) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(held?.status, "pending");
    assert.ok(String(held?.next_attempt_at) > new Date().toISOString(), "held until the cron's next run");

    const list = await runCliProcess(["notification", "list", "--data-dir", server.dataDir]);
    assert.equal(list.code, 0, list.stderr);
    const codes = column(list.stdout, "SUBSCRIPTION_CODE");
    const due = column(list.stdout, "DUE");
    const statuses = column(list.stdout, "STATUS");
    assert.deepEqual(
      codes.map((c, i) => [c, statuses[i], due[i]]).sort(),
      [[daily, "pending", held!.next_attempt_at], [immediate, "sent", ""]].sort(),
      list.stdout,
    );
    const json = await runCliProcess(["notification", "list", "--data-dir", server.dataDir, "--json"]);
    const rows = JSON.parse(json.stdout).items as Json[];
    assert.equal(rows.find((r) => r.subscription_code === daily)?.next_attempt_at, held!.next_attempt_at);
    assert.ok(rows.every((r) => !("due" in r)), "--json keeps the admin API's shape");
  } finally {
    await server.stop();
    await rx.close();
  }
});
