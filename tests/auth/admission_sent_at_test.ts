/** Admission's message_ts check for a request whose body streamed long (a bulk upload): held against its start. */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { admit } from "../../src/auth/admission.ts";
import { addSender } from "../../src/senders/store.ts";

const T0 = Date.parse("2026-12-03T10:00:00Z");
const LIMITS = { minute: 100, day: 1000 };

/**
 * Stores a transaction of s1 under `messageId`, as the accept after its admission does: a copy of an async request
 * is refused once it was stored (tests/auth/replay_resend_test.ts: one that was not is taken as sent again).
 */
async function accepted(deps: TestDeps, messageId: string): Promise<void> {
  await deps.storage.transactions.insert({
    sender_id: "s1",
    transaction_id: `t-${messageId}`,
    dedupe_key: messageId,
    message_id: messageId,
    correlation_id: crypto.randomUUID(),
    action: "search",
    registry: "social",
    callback_url: "https://s1.example/cb",
    request_header: "{}",
    request_message: "{}",
    ack: "{}",
    reference_ids: [],
    now: new Date(deps.clock.now()).toISOString(),
  });
}

Deno.test("admit(): message_ts is held against when the request arrived, so a body that took minutes is not refused", async () => {
  const deps = await testDeps({ replayWindowSeconds: "10" }, { now: T0 });
  try {
    await addSender(deps, "s1", { name: "s1" });
    const header = (id: string) => ({ message_id: id, message_ts: new Date(T0).toISOString() });
    deps.clock.advance(60_000); // the upload's body took a minute, six times the window
    await assert.rejects(admit(deps, "s1", LIMITS, header("m1")), /message_ts .* is not within 10 s/);
    assert.equal((await admit(deps, "s1", LIMITS, header("m2"), T0)).allowed, true);
    await accepted(deps, "m2");
    // The replay guard has it all the same, and a message_ts far from its arrival is still refused.
    await assert.rejects(admit(deps, "s1", LIMITS, header("m2"), T0), /already received/);
    await assert.rejects(admit(deps, "s1", LIMITS, header("m3"), T0 + 60_000), /is not within 10 s/);
  } finally {
    deps.close();
  }
});

Deno.test("admit(): a message id is refused again while its message_ts is accepted, though the sender's clock runs ahead", async () => {
  const deps = await testDeps({ replayWindowSeconds: "10" }, { now: T0 });
  try {
    await addSender(deps, "s1", { name: "s1" });
    // The sender's clock is 8 s ahead: its message_ts is accepted until T0 + 18 s.
    const header = { message_id: "ahead", message_ts: new Date(T0 + 8_000).toISOString() };
    assert.equal((await admit(deps, "s1", LIMITS, header)).allowed, true);
    await accepted(deps, "ahead");
    deps.clock.advance(12_000); // past a window after its arrival, not after its message_ts
    await assert.rejects(admit(deps, "s1", LIMITS, header), /already received/);
    deps.clock.advance(7_000); // T0 + 19 s: the message_ts is refused now, whatever the guard holds
    await assert.rejects(admit(deps, "s1", LIMITS, header), /is not within 10 s/);
  } finally {
    deps.close();
  }
});

Deno.test("admit(): an upload's message id is held a window longer, as its body may take a window to arrive", async () => {
  const deps = await testDeps({ replayWindowSeconds: "10" }, { now: T0 });
  try {
    await addSender(deps, "s1", { name: "s1" });
    const header = { message_id: "upload", message_ts: new Date(T0).toISOString() };
    assert.equal((await admit(deps, "s1", LIMITS, header, T0)).allowed, true);
    await accepted(deps, "upload");
    // A copy begun at T0 + 10 s (its message_ts still accepted then) that took 9 s to arrive.
    deps.clock.advance(19_000);
    await assert.rejects(admit(deps, "s1", LIMITS, header, T0 + 10_000), /already received/);
  } finally {
    deps.close();
  }
});
