/**
 * A subscribe request answered failed whole (rjct.processing.failed after its last attempt) leaves no live
 * subscription behind: an attempt may have made some before it failed, and they would notify codes the sender
 * was never given.
 */
import assert from "node:assert/strict";
import { harness, type Json } from "../transactions/support.ts";
import { PROCESSORS } from "../../src/actions/processors.ts";
import type { Processor } from "../../src/dci/processor.ts";
import { createTestSender } from "../helpers/auth.ts";
import { person, putPerson } from "./helpers.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";

Deno.test("a subscribe that finally fails after making its subscriptions cancels them; nothing is notified", async () => {
  const subscribe: Processor = async (deps, input) => {
    await PROCESSORS.subscribe(deps, input); // the subscriptions are made ...
    throw new Error("then the attempt fails"); // ... and the request is answered failed
  };
  const h = await harness({ processAttempts: "1", outboundAllow: "127.0.0.1" }, {
    processors: { subscribe },
  });
  try {
    const sender = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = new Date(h.deps.clock.now()).toISOString();
    const res = await h.post("/registry/subscribe", {
      transaction_id: "t-fail",
      subscribe_request: [{
        reference_id: "r1",
        timestamp: now,
        subscribe_criteria: { reg_event_type: "registration", notify_record_type: "person" },
      }],
    }, { sender, senderUri: "https://rx.example/cb" });
    assert.equal(res.status, 202);
    await h.drain();
    const answer = h.http.sent.find((s) => s.url.endsWith("/on-subscribe"))!.body as Json;
    assert.equal(answer.header.status, "rjct");
    assert.equal(answer.message.subscribe_response[0].status, "rjct");
    assert.match(
      answer.message.subscribe_response[0].status_reason_message,
      /^Processing failed in 1 attempts/,
    );
    const subs = await h.deps.storage.subscriptions.list({});
    assert.equal(subs.length, 1, "the attempt made it");
    assert.deepEqual([subs[0].state, subs[0].cancelled_by], ["cancelled", "processing-failed"]);
    await putPerson(h.deps, person("p-after"));
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    assert.equal(h.http.sent.filter((s) => s.url.endsWith("/notify")).length, 0);
  } finally {
    h.close();
  }
});
