import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { input, person, putPerson, startReceiver, subItem } from "./helpers.ts";

const FIXED = { random: () => 0.5 };

Deno.test("runLane() sends a backlog once each, in order, all marked sent on return", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("p1"));
    const r = await subscribeProcessor(
      deps,
      input(
        "s1",
        { transaction_id: "t", subscribe_request: [subItem("r", { reg_event_type: "update" })] },
        rx.url,
      ),
    );
    const code = (r.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
      .subscriptions[0].code;
    const n = 40;
    for (let k = 0; k < n; k++) {
      await putPerson(deps, person("p1", { name: { given_name: `S${k}`, surname: "L" } }));
    }
    await runNotifierOnce(deps, FIXED);
    const seqs = rx.received.map((x) =>
      (x.body.message as { notify_event: Array<{ data: { reg_records: { name: { given_name: string } } } }> })
        .notify_event[0].data.reg_records.name.given_name
    );
    assert.deepEqual(seqs, Array.from({ length: n }, (_, k) => `S${k}`));
    // Every mark committed before the run returned: nothing pending, each sent after one attempt.
    assert.deepEqual((await deps.storage.notifications.counts()).map((c) => [c.status, c.n]), [["sent", n]]);
    const log = await deps.storage.notifications.list({ subscription: code, limit: 1000 });
    assert.ok(log.every((x) => x.attempts === 1 && x.sent_at !== null));
    // A second pass finds nothing to send again.
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.received.length, n);
  } finally {
    await rx.close();
    deps.close();
  }
});

/** `store` with each method call counted in `calls` as "name.method". */
function counted<T extends object>(store: T, name: string, calls: Map<string, number>): T {
  return new Proxy(store, {
    get(target, key) {
      const v = Reflect.get(target, key);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.set(`${name}.${String(key)}`, (calls.get(`${name}.${String(key)}`) ?? 0) + 1);
        return v.apply(target, args);
      };
    },
  });
}

Deno.test("a lane reads the sender with its check, once per notification: no sender read of its own", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    // Outbound bearer authentication: its secret must come from the check's row too.
    await addSender(deps, "s1", {
      name: "s1",
      auto_approve_subscriptions: true,
      outbound_auth: { type: "bearer", token: "tok-lane-1" },
    });
    await putPerson(deps, person("p1"));
    await subscribeProcessor(
      deps,
      input(
        "s1",
        { transaction_id: "t", subscribe_request: [subItem("r", { reg_event_type: "update" })] },
        rx.url,
      ),
    );
    const n = 12;
    for (let k = 0; k < n; k++) {
      await putPerson(deps, person("p1", { name: { given_name: `C${k}`, surname: "L" } }));
    }
    const calls = new Map<string, number>();
    const storage = {
      ...deps.storage,
      lanes: counted(deps.storage.lanes, "lanes", calls),
      senders: counted(deps.storage.senders, "senders", calls),
    };
    await runNotifierOnce({ ...deps, storage }, FIXED);
    assert.equal(rx.received.length, n);
    assert.ok(rx.received.every((x) => x.headers.get("authorization") === "Bearer tok-lane-1"));
    // Per notification: the check with the sender before building it, the hold right before connecting.
    assert.equal(calls.get("lanes.sendCheck"), n);
    assert.equal(calls.get("lanes.hold"), n);
    assert.equal(calls.get("senders.get"), undefined);
  } finally {
    await rx.close();
    deps.close();
  }
});
