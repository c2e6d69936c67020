import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { startNotifier } from "../../src/subscriptions/notifier.ts";
import { startDuePoll } from "../../src/jobs/due_poll.ts";
import { input, person, putPerson, startReceiver, subItem } from "./helpers.ts";

Deno.test("admin registrant changes wake the notifier at once (no due-work poll runs)", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  // No due-work poll runs here: anything delivered within the test came from a wake-up.
  const notifier = startNotifier(deps);
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const r = await subscribeProcessor(
      deps,
      input("s1", {
        transaction_id: "t",
        subscribe_request: ["REGISTER", "update", "delete"].map((t) => subItem(t, { reg_event_type: t })),
      }, rx.url),
    );
    assert.deepEqual(
      (r.message.subscribe_response as Array<{ status: string }>).map((i) => i.status),
      ["succ", "succ", "succ"],
    );
    await notifier.runNow();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
    };
    const steps: Array<[string, string, unknown, string]> = [
      ["POST", "/registrants", person("w1"), "REGISTER"],
      ["PUT", "/registrants/w1", person("w1", { sex: "male" }), "UPDATE"],
      ["PATCH", "/registrants/w1", { sex: "female" }, "UPDATE"],
      ["DELETE", "/registrants/w1", undefined, "DELETE"],
    ];
    for (const [i, [method, path, body, event]] of steps.entries()) {
      await call(method, path, body);
      await rx.until((all) => all.length === i + 1, 3000);
      const data = (rx.received[i].body.message as { notify_event: Array<{ data: Record<string, unknown> }> })
        .notify_event[0].data;
      assert.equal(data.reg_event_type, event, `${method} ${path}`);
    }
  } finally {
    await notifier.stop();
    await rx.close();
    deps.close();
  }
});

Deno.test("a change no wake-up announced (another process's) reaches the notifier through the due-work query", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  const notifier = startNotifier(deps);
  const handed: Array<{ lanes: number[]; events: boolean }> = [];
  const poll = startDuePoll(deps, {
    handle: () => Promise.resolve(),
    busy: () => false,
    notify: (due) => (handed.push({ lanes: [...due.lanes], events: due.events }), notifier.notify(due)),
  }, { intervalMs: 60_000 }); // run by hand below
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const r = await subscribeProcessor(
      deps,
      input("s1", {
        transaction_id: "t",
        subscribe_request: [subItem("REGISTER", { reg_event_type: "REGISTER" })],
      }, rx.url),
    );
    assert.equal((r.message.subscribe_response as Array<{ status: string }>)[0].status, "succ");
    await notifier.runNow();
    await poll.runNow();
    assert.deepEqual(handed, [], "nothing due");
    // Written through the store, as another process would: no wake-up reaches this notifier.
    await putPerson(deps, person("p1"));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rx.received.length, 0, "nothing sent before the due-work query finds it");
    await poll.runNow();
    assert.deepEqual(handed, [{ lanes: [], events: true }], "the event waits for the fan-out");
    await rx.until((all) => all.length === 1, 3000);
    const data = (rx.received[0].body.message as { notify_event: Array<{ data: Record<string, unknown> }> })
      .notify_event[0].data;
    assert.equal(data.reg_event_type, "REGISTER");
    await notifier.runNow();
    await poll.runNow();
    assert.equal(handed.length, 1, "delivered: nothing due any more");
  } finally {
    poll.stop();
    await notifier.stop();
    await rx.close();
    deps.close();
  }
});
