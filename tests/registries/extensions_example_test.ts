/**
 * examples/custom_main.ts, a deployment's own main.ts using the four extension hooks, started as a real server on
 * a loopback port: each hook takes effect (error renderer, extra route, async search processor, notification fields).
 */
import assert from "node:assert/strict";
import { startServerProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";
import { startReceiver } from "../subscriptions/helpers.ts";
import { ADMIN_TOKEN, notifiesOf, send, subscribeVia, updates } from "../subscriptions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";

const EXAMPLE = new URL("../../examples/custom_main.ts", import.meta.url).pathname;

Deno.test("examples/custom_main.ts: the error renderer, extra route, processor and notification fields take effect", async () => {
  const rx = startReceiver();
  const server = await startServerProcess({
    entry: EXAMPLE,
    env: {
      DCI_WORKER: "true",
      DCI_OUTBOUND_ALLOW: "127.0.0.1",
      DCI_CALLBACK_RETRY_DELAYS_MS: "100,200",
      DCI_SWEEP_INTERVAL_SECONDS: "1",
      DCI_ADMIN_TOKEN: ADMIN_TOKEN,
      DCI_RATE_LIMIT_MINUTE: "1000000",
    },
  });
  try {
    // 1. The error renderer: the stock ERR ACK, with the deployment's header.
    const missing = await fetch(`${server.url}/no/such/path`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-deployment"), "example-deployment");
    assert.equal((await missing.json()).message.error.code, "err.request.not_found");
    // 2. The extra route.
    const stats = async () => await (await fetch(`${server.url}/example/stats`)).json();
    assert.deepEqual(await stats(), { deployment: "example-deployment", async_searches: 0 });
    // 3. The async search processor: it ran (counted), and the stock search answered through it.
    const alice = await createServerSender(server, { auto_approve_subscriptions: true });
    const ack = await send(server, alice, "/registry/search", searchMessage("ext-s", 1), rx.url);
    assert.equal(ack.status, 202);
    await rx.until((all) => all.some((r) => r.path.endsWith("/on-search")));
    const onSearch = rx.received.find((r) => r.path.endsWith("/on-search"))!;
    assert.equal((onSearch.body.message as { search_response: unknown[] }).search_response.length, 1);
    assert.equal((await stats()).async_searches, 1);
    // 4. The notification fields: every notification's data carries them.
    await updates(server, "ext-p1", ["male"]);
    const [item] = await subscribeVia(server, alice, rx, "ext-sub", [{
      reg_event_type: "update",
      notify_record_type: "person",
    }]);
    const code = item.subscriptions![0].code;
    await updates(server, "ext-p1", ["female"]);
    await rx.until(() => notifiesOf(rx, code).length === 1);
    const data =
      (notifiesOf(rx, code)[0].body.message as { notify_event: Array<{ data: Record<string, unknown> }> })
        .notify_event[0].data;
    assert.equal(data.deployment, "example-deployment");
    assert.equal(data.notified_event, "update");
    assert.ok(data.reg_records, "the stock fields are still there");
  } finally {
    await server.stop();
    await rx.close();
  }
});
