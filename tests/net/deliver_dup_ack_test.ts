/**
 * A receiver that answers a delivery with `rjct.message_id.duplicate` already has it (every attempt of an envelope
 * goes under the same message_id): postEnvelope counts it delivered, with the code kept, whichever form the answer
 * takes (a 2xx ERR ACK, a 4xx with the code, this server's own 409 form, a rjct header); other answers are
 * classed as before. The callback and notification paths: tests/transactions/callback_dup_ack_test.ts.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";
import { postEnvelope } from "../../src/net/deliver.ts";

/** The spec's code for a message_id the receiver has already seen. */
const DUPLICATE = "rjct.message_id.duplicate";

/** An ERR ACK as the spec nests it, with `code` and `message`. */
function errAck(code: string, message = "already received"): Record<string, unknown> {
  return { message: { ack_status: "ERR", correlation_id: "c-1", error: { code, message } } };
}

/** A loopback receiver answering each path with its scripted status and body. */
function startScripted(answers: Record<string, { status: number; body: unknown }>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.body?.cancel();
    const a = answers[new URL(req.url).pathname];
    return Response.json(a.body, { status: a.status });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

Deno.test("postEnvelope() counts a receiver's duplicate answer as delivered, in each form; other answers as before", async () => {
  const answers = {
    "/ack-err": { status: 200, body: errAck(DUPLICATE) },
    "/bare-ack-err": { status: 200, body: { ack_status: "ERR", error: { code: DUPLICATE } } },
    "/conflict": { status: 409, body: errAck(DUPLICATE) },
    // This server's own answer to a repeated message_id on an async endpoint: the spec's ERR codes are err.*.
    "/own-form": {
      status: 409,
      body: errAck("err.request.bad", `${DUPLICATE}: message_id "m-1" was already received`),
    },
    "/rjct-header": {
      status: 400,
      body: { header: { status: "rjct", status_reason_code: DUPLICATE }, message: {} },
    },
    // Not duplicate answers: as before.
    "/server-error": { status: 500, body: errAck(DUPLICATE) },
    "/conflict-other": { status: 409, body: errAck("err.request.bad", "something else") },
    "/rejected": { status: 200, body: errAck("err.request.bad", `not ${DUPLICATE}`) },
    "/lookalike": { status: 200, body: errAck(`${DUPLICATE}.x`) },
  };
  const rx = startScripted(answers);
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1" }));
  try {
    const post = (path: string) =>
      postEnvelope(http, `${rx.url}${path}`, "{}", { headers: {}, what: "callback URL" });
    for (const path of ["/ack-err", "/bare-ack-err", "/conflict", "/own-form", "/rjct-header"]) {
      const status = answers[path as keyof typeof answers].status;
      assert.deepEqual(await post(path), { ok: true, status, receiverCode: DUPLICATE }, path);
    }
    assert.deepEqual(await post("/server-error"), {
      ok: false,
      permanent: false,
      error: "HTTP 500 from callback URL",
      status: 500,
    });
    assert.deepEqual(await post("/conflict-other"), {
      ok: false,
      permanent: false,
      error: "HTTP 409 from callback URL",
      status: 409,
    });
    assert.deepEqual(await post("/rejected"), {
      ok: false,
      permanent: true,
      error: "callback URL rejected the delivery: HTTP 200 with ack_status ERR err.request.bad",
      receiverCode: "err.request.bad",
      status: 200,
    });
    const lookalike = await post("/lookalike");
    assert.equal(lookalike.ok, false);
    assert.equal(lookalike.receiverCode, `${DUPLICATE}.x`);
  } finally {
    http.close?.();
    await rx.close();
  }
});
