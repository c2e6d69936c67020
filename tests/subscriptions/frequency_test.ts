import assert from "node:assert/strict";
import { freshPgDatabase, TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { isoNow } from "../../src/clock.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { expireSubscriptions } from "../../src/subscriptions/expiry.ts";
import { dueAt } from "../../src/subscriptions/frequency.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { input, person, putPerson, type Receiver, startReceiver, subItem } from "./helpers.ts";

const FIXED = { random: () => 0.5 };
const T0 = Date.parse("2026-03-02T10:00:10Z");
const HOURLY = "0 0 * * * ? *"; // the spec's Quartz form: every hour on the hour

type Item = { status: string; status_reason_code?: string; status_reason_message?: string };
type NotifyEvent = {
  reference_id: string;
  subscription_code: string;
  data: { reg_records: { name?: unknown } };
};

async function subscribe(deps: TestDeps, rx: Receiver, frequency: Record<string, unknown>) {
  const r = await subscribeProcessor(
    deps,
    input("s1", { transaction_id: "t", subscribe_request: [subItem("r", { frequency })] }, rx.url),
  );
  return (r.message.subscribe_response as Array<Item & { subscriptions?: Array<{ code: string }> }>)[0];
}

function window(deps: TestDeps, hours: number, cron = HOURLY) {
  const at = (ms: number) => new Date(ms).toISOString();
  return {
    start_time: at(deps.clock.now()),
    end_time: at(deps.clock.now() + hours * 3_600_000),
    frequency: cron,
  };
}

/** The given names (the test's event markers) of each notify received, one list per notify. */
function batches(rx: Receiver): string[][] {
  return rx.received.filter((r) => r.path.endsWith("/notify")).map((r) =>
    (r.body.message as { notify_event: NotifyEvent[] }).notify_event.map((e) =>
      String((e.data.reg_records.name as { given_name?: string } | undefined)?.given_name)
    )
  );
}

async function setUp(deps: TestDeps, rx: Receiver, hours = 24): Promise<string> {
  await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
  await putPerson(deps, person("p1"));
  const item = await subscribe(deps, rx, window(deps, hours));
  assert.equal(item.status, "succ", JSON.stringify(item));
  return item.subscriptions![0].code;
}

async function change(deps: TestDeps, marker: string): Promise<void> {
  await putPerson(deps, person("p1", { name: { given_name: marker, surname: "Tester" } }));
}

Deno.test("subscribe refuses a frequency whose cron is invalid or never due, naming frequency.frequency", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    for (const cron of ["every day", "0 0 0 31 2 ? *", "61 * * * *", 5]) {
      const item = await subscribe(deps, rx, { ...window(deps, 24), frequency: cron });
      assert.equal(item.status, "rjct");
      assert.equal(item.status_reason_code, "rjct.notify_details.invalid");
      assert.match(item.status_reason_message ?? "", /^frequency\.frequency /);
    }
    // The spec's own example is accepted, and so is its FR and DR samples' "daily".
    assert.equal(
      (await subscribe(deps, rx, { ...window(deps, 24), frequency: "0 0 0 5,15 * ? *" })).status,
      "succ",
    );
    assert.equal((await subscribe(deps, rx, { ...window(deps, 24), frequency: "daily" })).status, "succ");
    // A day its month does not have is refused, in a date-time as in a date (Date.parse would read 2 March).
    for (
      const end_time of [
        "2026-02-30T00:00:00Z",
        "2026-02-30",
        "2027-02-29T12:00:00+02:00",
        "2026-04-31T00:00Z",
      ]
    ) {
      const item = await subscribe(deps, rx, { ...window(deps, 24), end_time });
      assert.equal(item.status, "rjct", end_time);
      assert.equal(item.status_reason_message, "frequency.end_time must be an ISO 8601 date-time", end_time);
    }
    const leap = await subscribe(deps, rx, {
      ...window(deps, 24 * 365 * 2),
      end_time: "2028-02-29T00:00:00Z",
    });
    assert.equal(leap.status, "succ", JSON.stringify(leap));
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("dueAt() is the cron's next run after the event, capped at the end time", () => {
  assert.equal(dueAt(HOURLY, "2026-03-02T10:00:10.000Z", null), "2026-03-02T11:00:00.000Z");
  assert.equal(dueAt(HOURLY, "2026-03-02T10:59:59.999Z", null), "2026-03-02T11:00:00.000Z");
  assert.equal(
    dueAt(HOURLY, "2026-03-02T10:00:10.000Z", "2026-03-02T10:30:00.000Z"),
    "2026-03-02T10:30:00.000Z",
  );
  assert.equal(dueAt("0 0 0 5,15 * ? *", "2026-03-06T08:00:00.000Z", null), "2026-03-15T00:00:00.000Z");
});

Deno.test("dueAt(): a period's word as the spec's FR and DR samples send it (\"daily\") is croner's nickname, any case", () => {
  assert.equal(dueAt("daily", "2026-03-02T10:00:10.000Z", null), "2026-03-03T00:00:00.000Z");
  assert.equal(dueAt("Hourly", "2026-03-02T10:00:10.000Z", null), "2026-03-02T11:00:00.000Z");
  assert.equal(dueAt("weekly", "2026-03-02T10:00:10.000Z", null), "2026-03-08T00:00:00.000Z"); // a Sunday
  assert.equal(dueAt("monthly", "2026-03-02T10:00:10.000Z", null), "2026-04-01T00:00:00.000Z");
  assert.equal(dueAt("YEARLY", "2026-03-02T10:00:10.000Z", null), "2027-01-01T00:00:00.000Z");
});

Deno.test("dueAt(): a cron with no run left holds the event to the window's end (without one, sends at once)", () => {
  const once = "0 0 0 1 1 ? 2026";
  assert.equal(dueAt(once, "2025-12-02T10:00:00.000Z", null), "2026-01-01T00:00:00.000Z");
  assert.equal(
    dueAt(once, "2026-03-02T10:00:00.000Z", "2027-06-01T00:00:00.000Z"),
    "2027-06-01T00:00:00.000Z",
  );
  assert.equal(dueAt(once, "2026-03-02T10:00:00.000Z", null), "2026-03-02T10:00:00.000Z");
});

Deno.test("dueAt(): the Quartz form numbers weekdays 1 (Sunday) to 7, the cron form 0 (Sunday) to 6", () => {
  const thursday = "2026-12-03T08:00:00.000Z";
  const cases: Array<[string, string]> = [
    ["0 0 12 ? * 2 *", "2026-12-07T12:00:00.000Z"], // Quartz 2: Monday
    ["0 0 12 ? * 7", "2026-12-05T12:00:00.000Z"], // Quartz 7 (six fields with a ?): Saturday
    ["0 0 12 ? * 1 *", "2026-12-06T12:00:00.000Z"], // Quartz 1: Sunday
    ["0 0 12 ? * 6#3 *", "2026-12-18T12:00:00.000Z"], // the third Friday
    ["0 0 12 ? * MON *", "2026-12-07T12:00:00.000Z"],
    ["0 12 * * 1", "2026-12-07T12:00:00.000Z"], // cron 1: Monday
    ["0 12 * * 0", "2026-12-06T12:00:00.000Z"], // cron 0: Sunday
    ["0 12 * * 7", "2026-12-06T12:00:00.000Z"], // cron 7: Sunday too
  ];
  for (const [cron, due] of cases) assert.equal(dueAt(cron, thursday, null), due, cron);
});

Deno.test("frequency: events of one window are held, then sent as one spec-valid notify with all of them, in order", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const code = await setUp(deps, rx);
    await change(deps, "first");
    deps.clock.advance(60_000);
    await change(deps, "second");
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [], "held until the cron's next run (11:00)");
    const held = await deps.storage.notifications.list({ subscription: code });
    assert.deepEqual(held.map((n) => [n.status, n.next_attempt_at]), [
      ["pending", "2026-03-02T11:00:00.000Z"],
      ["pending", "2026-03-02T11:00:00.000Z"],
    ]);
    deps.clock.advance(Date.parse("2026-03-02T11:00:00Z") - deps.clock.now());
    await change(deps, "third"); // at 11:00: the next window (due 12:00)
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["first", "second"]]);
    const notify = rx.received[0];
    const header = notify.body.header as { total_count: number; message_id: string };
    assert.equal(header.total_count, 2);
    const events = (notify.body.message as { notify_event: NotifyEvent[] }).notify_event;
    assert.equal(notify.headers.get("x-dci-notification-id"), events[0].reference_id);
    assert.deepEqual(events.map((e) => e.subscription_code), [code, code]);
    // A receipt of the notify (its notification id) covers every notification it carried.
    assert.equal(
      (await deps.storage.notifications.markReceived("s1", events[0].reference_id, isoNow(deps.clock))).ok,
      true,
    );
    assert.deepEqual((await deps.storage.notifications.list({ subscription: code })).map((n) => n.status), [
      "pending", // third (newest first)
      "received",
      "received",
    ]);
    deps.clock.advance(3_600_000);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["first", "second"], ["third"]]);
    assert.deepEqual((await deps.storage.notifications.list({ subscription: code })).map((n) => n.status), [
      "sent",
      "received",
      "received",
    ]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("frequency: a refused batch is retried whole under its message_id, a later window stays after it", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", callbackRetryDelaysMs: "7200000" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    await setUp(deps, rx);
    await change(deps, "a");
    await change(deps, "b");
    deps.clock.advance(Date.parse("2026-03-02T11:00:00Z") - deps.clock.now());
    const ids: string[] = [];
    const refuse = (r: { body: Record<string, unknown> }) => {
      ids.push((r.body.header as { message_id: string }).message_id);
      return 503;
    };
    rx.status = refuse;
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.hits, 1);
    await change(deps, "c"); // due 12:00, before the retry (about 13:00)
    deps.clock.advance(3_600_000);
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.hits, 1, "the lane waits for the refused batch's retry");
    rx.status = () => 200;
    deps.clock.advance(3 * 3_600_000);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["a", "b"], ["c"]]);
    assert.equal((rx.received[0].body.header as { message_id: string }).message_id, ids[0]);
  } finally {
    deps.close();
    await rx.close();
  }
});

/** The subscription's notifications, oldest first. */
async function rowsOf(deps: TestDeps, code: string) {
  return (await deps.storage.notifications.list({ subscription: code })).sort((a, b) => a.id - b.id);
}

Deno.test("frequency: a batch sealed alone stays alone under its message_id; a sealed batch is read whole under a lowered maximum", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const code = await setUp(deps, rx);
    await change(deps, "a");
    await fanOutAll(deps);
    deps.clock.advance(Date.parse("2026-03-02T11:00:00Z") - deps.clock.now());
    const [a] = await rowsOf(deps, code);
    const first = await deps.storage.notifications.batchOf(a, {
      now: isoNow(deps.clock),
      max: 50,
      maxBytes: 1 << 20,
    });
    assert.deepEqual(first.map((r) => r.id), [a.id]);
    assert.equal(
      first[0].message_id,
      a.notification_id,
      "sealed: the batch takes its head's notification id",
    );
    // The process sent it and died before the sent mark: attempts still 0. Two more events fall due meanwhile.
    await change(deps, "b");
    await change(deps, "c");
    await fanOutAll(deps);
    deps.clock.advance(3_600_000);
    const [a2, b, c] = await rowsOf(deps, code);
    assert.equal(a2.attempts, 0);
    const again = await deps.storage.notifications.batchOf(a2, {
      now: isoNow(deps.clock),
      max: 50,
      maxBytes: 1 << 20,
    });
    assert.deepEqual(
      again.map((r) => [r.id, r.message_id]),
      [[a.id, first[0].message_id]],
      "sent again as sent",
    );
    // The next batch (b, c) is sealed under b's id, then read whole though the maximum is lowered to 1.
    const next = await deps.storage.notifications.batchOf(b, {
      now: isoNow(deps.clock),
      max: 50,
      maxBytes: 1 << 20,
    });
    assert.deepEqual(next.map((r) => [r.id, r.message_id]), [[b.id, b.notification_id], [
      c.id,
      b.notification_id,
    ]]);
    const lowered = await deps.storage.notifications.batchOf(next[0], {
      now: isoNow(deps.clock),
      max: 1,
      maxBytes: 1 << 20,
    });
    assert.deepEqual(lowered.map((r) => r.id), [b.id, c.id]);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["a"], ["b", "c"]]);
    const ids = rx.received.map((r) => (r.body.header as { message_id: string }).message_id);
    assert.deepEqual(ids, [a.notification_id, b.notification_id]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("frequency: a batch ends before the first row not yet due, so no event goes before an older one", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const code = await setUp(deps, rx);
    for (const m of ["a", "b", "c"]) await change(deps, m);
    await fanOutAll(deps);
    // b's event was stamped later than c's (an import batch stamps its events before writing them): due 12:00.
    const [, b] = await rowsOf(deps, code);
    await deps.sql("UPDATE notifications SET next_attempt_at = ? WHERE id = ?", [
      "2026-03-02T12:00:00.000Z",
      b.id,
    ]);
    deps.clock.advance(Date.parse("2026-03-02T11:00:00Z") - deps.clock.now());
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["a"]], "c waits behind b");
    deps.clock.advance(3_600_000);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["a"], ["b", "c"]]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("frequency: an event stamped before the cron's run but logged after a later one goes out at that run, with it", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  const at = (iso: string) => deps.clock.advance(Date.parse(iso) - deps.clock.now());
  try {
    const code = await setUp(deps, rx);
    // An API write at 11:00:01 (due 12:00) commits before an import batch stamped at 10:59:59 (due 11:00).
    at("2026-03-02T11:00:01Z");
    await change(deps, "late");
    await fanOutAll(deps);
    at("2026-03-02T10:59:59Z");
    await change(deps, "early");
    at("2026-03-02T11:00:05Z");
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["late", "early"]], "not held back to 12:00 by the older row");
    // The same when both are logged in one fan-out batch.
    at("2026-03-02T12:00:01Z");
    await change(deps, "late-2");
    at("2026-03-02T11:59:59Z");
    await change(deps, "early-2");
    at("2026-03-02T12:00:05Z");
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["late", "early"], ["late-2", "early-2"]]);
    assert.deepEqual((await rowsOf(deps, code)).map((r) => r.status), ["sent", "sent", "sent", "sent"]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("frequency: held notifications survive a restart, sent at the due time or at once if it has passed", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-freq-" });
  const rx = startReceiver({ registry: "social" });
  // A restart opens the same data: the data dir's SQLite file, or on PostgreSQL the same database.
  const databaseUrl = TEST_BACKEND === "postgres" ? { databaseUrl: await freshPgDatabase() } : {};
  const open = (now: number) => testDeps({ outboundAllow: "127.0.0.1", dataDir, ...databaseUrl }, { now });
  try {
    let deps = await open(T0);
    await setUp(deps, rx);
    await change(deps, "held-1");
    await runNotifierOnce(deps, FIXED); // logged and held
    await change(deps, "held-2"); // not yet fanned out when the process goes
    deps.close();
    // Restart before the due time: still held, sent once it is due.
    deps = await open(Date.parse("2026-03-02T10:30:00Z"));
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), []);
    deps.clock.advance(30 * 60_000);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["held-1", "held-2"]]);
    await change(deps, "held-3"); // due 12:00
    deps.close();
    // Restart after the due time: sent at once.
    deps = await open(Date.parse("2026-03-02T12:20:00Z"));
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["held-1", "held-2"], ["held-3"]]);
    deps.close();
  } finally {
    await rx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("frequency: what was held is sent when end_time passes, nothing after it, then the subscription expires", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const code = await setUp(deps, rx, 0.5); // ends 10:30:10, before the 11:00 run
    await change(deps, "inside");
    await runNotifierOnce(deps, FIXED);
    deps.clock.advance(35 * 60_000); // 10:35:10
    await change(deps, "after-end");
    assert.equal(await expireSubscriptions(deps), 0, "not before what it holds is sent");
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["inside"]]);
    assert.equal(await expireSubscriptions(deps), 1);
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "expired");
    deps.clock.advance(3_600_000);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(batches(rx), [["inside"]]);
    assert.equal((await deps.storage.notifications.list({ subscription: code })).length, 1);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("frequency: a batched notify ends before the record that would pass DCI_NOTIFY_BATCH_BYTES", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", notifyBatchBytes: "1024" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    await setUp(deps, rx);
    for (const marker of ["first", "second", "third"]) await change(deps, marker);
    // Each change's record is stored in 342 to 512 bytes: two fit in 1,024, three do not.
    const sizes = await deps.sql(
      `SELECT octet_length(snapshot) AS n FROM registry_events ORDER BY id DESC LIMIT 3`,
    );
    assert.ok(sizes.every((r) => Number(r.n) > 1024 / 3 && Number(r.n) <= 512), JSON.stringify(sizes));
    deps.clock.advance(Date.parse("2026-03-02T11:00:00Z") - deps.clock.now());
    await runNotifierOnce(deps, FIXED);
    // With the default bound (256 KiB), one notify: ["first", "second", "third"].
    assert.deepEqual(batches(rx), [["first", "second"], ["third"]]);
  } finally {
    deps.close();
    await rx.close();
  }
});
