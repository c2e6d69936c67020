/**
 * The wait for an outbound slot is not the receiver's time: a request that finds no free slot within its timeout
 * fails `busy` without being sent (a delivery counts it as no attempt), and the request's own deadline starts
 * only once it holds a slot (tests/subscriptions/lane_slots_test.ts shows it with a slow receiver).
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import { postEnvelope } from "../../src/net/deliver.ts";
import { type GatedReceiver, holdSlot, startGatedReceiver } from "../helpers/gated_receiver.ts";

/** A client with one slot per destination, and a request to `rx` holding it until `rx.open()`. */
async function oneSlotHeld(rx: GatedReceiver, overrides: Record<string, string> = {}) {
  const http = createOutboundClient(
    testConfig({ outboundAllow: "127.0.0.1", outboundPerDestination: "1", ...overrides }),
  );
  return { http, hung: (await holdSlot(http, rx)).done };
}

Deno.test("outbound: a request that finds no free slot within its timeout fails busy and is never sent", async () => {
  const rx = startGatedReceiver();
  try {
    const { http, hung } = await oneSlotHeld(rx);
    const err = await http.request(`${rx.url}/late`, { method: "POST", body: "{}", timeoutMs: 200 })
      .then(() => undefined, (e) => e);
    assert.ok(err instanceof OutboundError, `expected OutboundError, got ${err}`);
    assert.equal(err.reason, "busy", err.message);
    assert.equal(err.message, "no free outbound slot within 200 ms");
    assert.equal(rx.hits.get("/late"), undefined, "the receiver was never asked");
    // Once the slot is free, the same request goes out.
    rx.open();
    assert.equal(await hung, 200);
    const res = await http.request(`${rx.url}/late`, { method: "POST", body: "{}", timeoutMs: 10_000 });
    assert.equal(res.status, 200);
    assert.equal(rx.hits.get("/late"), 1);
    http.close?.();
  } finally {
    await rx.close();
  }
});

Deno.test("postEnvelope(): a delivery that found no free outbound slot in time is held: no attempt was made", async () => {
  const rx = startGatedReceiver();
  try {
    const { http, hung } = await oneSlotHeld(rx, { outboundTimeoutMs: "200" });
    const outcome = await postEnvelope(http, `${rx.url}/notify`, "{}", {
      headers: {},
      what: "notification URL",
    });
    assert.deepEqual(outcome, {
      ok: false,
      permanent: false,
      held: true,
      error: "busy: no free outbound slot within 200 ms",
    });
    assert.equal(rx.delivered.length, 0);
    rx.open();
    await hung;
    http.close?.();
  } finally {
    await rx.close();
  }
});
