/**
 * postEnvelope's check right before connecting (after any wait for an outbound slot): a hold stops the request,
 * and so does a check that fails (a storage fault), neither counted as an attempt; a loopback receiver counts
 * what reached it.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";
import { postEnvelope } from "../../src/net/deliver.ts";

Deno.test("postEnvelope() sends nothing when its hold says no or cannot be asked, and says held", async () => {
  let reached = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.body?.cancel();
    reached++;
    return Response.json({ message: { ack_status: "ACK" } });
  });
  const url = `http://127.0.0.1:${server.addr.port}/cb`;
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
  const post = (hold: () => string | undefined | Promise<string | undefined>) =>
    postEnvelope(http, url, "{}", { headers: {}, what: "callback URL", hold });
  try {
    assert.deepEqual(await post(() => "sender s1 is disabled"), {
      ok: false,
      permanent: false,
      error: "sender s1 is disabled",
      held: true,
    });
    assert.deepEqual(await post(() => Promise.reject(new Error("database is locked"))), {
      ok: false,
      permanent: false,
      error: "not sent: the check before sending failed (database is locked)",
      held: true,
    });
    assert.equal(reached, 0);
    assert.deepEqual(await post(() => undefined), { ok: true, status: 200 });
    assert.equal(reached, 1);
  } finally {
    await server.shutdown();
  }
});
