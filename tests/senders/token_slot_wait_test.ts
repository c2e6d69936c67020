/**
 * An OAuth2 token fetch for a delivery that found no free outbound slot in time made no attempt: the delivery is
 * held (not counted), as one whose own request found no slot is (tests/net/outbound_slot_wait_test.ts).
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { holdSlot, startGatedReceiver } from "../helpers/gated_receiver.ts";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";
import { addSender, senderForDelivery } from "../../src/senders/store.ts";
import { deliverToSender } from "../../src/senders/delivery.ts";

Deno.test("a token fetch that found no free outbound slot holds the delivery: no attempt, nothing sent", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startGatedReceiver();
  const http = createOutboundClient(
    testConfig({ outboundAllow: "127.0.0.1", outboundPerDestination: "1", outboundTimeoutMs: "200" }),
  );
  try {
    // The token URL is on the receiver's host: its one slot is taken by a request that hangs.
    const { done } = await holdSlot(http, rx);
    deps.http = http;
    await addSender(deps, "s1", {
      name: "s1",
      callback_base_url: rx.url,
      outbound_auth: {
        type: "oauth2",
        token_url: `${rx.url}/token`,
        client_id: "x",
        client_secret: "s".repeat(24),
      },
    });
    const found = (await senderForDelivery(deps, "s1"))!;
    const outcome = await deliverToSender(deps, "s1", `${rx.url}/cb`, "{}", {
      headers: {},
      what: "callback URL",
      outbound: found.outbound,
      callbackBase: found.sender.callback_base_url as string,
    });
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.held === true, JSON.stringify(outcome));
    assert.match(!outcome.ok ? outcome.error : "", /busy/);
    assert.equal(rx.hits.get("/token"), undefined, "the token URL was never asked");
    rx.open();
    await done;
  } finally {
    http.close?.();
    await rx.close();
    deps.close();
  }
});
