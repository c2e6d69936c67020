import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { createApp } from "../helpers/app.ts";
import { contentDigest, signHttpRequest } from "../../src/auth/http_signature.ts";
import { bulkForm, type Form } from "./bulk_support.ts";

const UPLOAD_URL = "http://localhost/registry/search";
const FILE = "reference_id,type,value\nr1,UIN,X1\n";

/** An upload signed (RFC 9421, over its Content-Digest) for `signed`'s bytes, sending `body` instead. */
function upload(
  app: ReturnType<typeof createApp>,
  sender: TestSender,
  signed: Form,
  body: Uint8Array | ReadableStream<Uint8Array>,
  nowMs: number,
) {
  const headers: Record<string, string> = {
    ...sender.headers(),
    "content-type": signed.contentType,
    "content-digest": contentDigest(signed.bytes),
  };
  const s = signHttpRequest(
    { method: "POST", url: UPLOAD_URL, headers: new Headers(headers) },
    sender.privateKey,
    {
      keyId: sender.keyId,
      components: ["@method", "@path", "content-digest"],
      created: Math.floor(nowMs / 1000),
    },
  );
  headers["signature-input"] = s.signatureInput;
  headers["signature"] = s.signature;
  const streamed = body instanceof ReadableStream ? { duplex: "half" } : {};
  return app.request(
    UPLOAD_URL,
    { method: "POST", headers, body: body as BodyInit, ...streamed } as RequestInit,
  );
}

Deno.test("a bulk upload whose body is not the one its Content-Digest names is refused 401, counted against the sender", async () => {
  const deps = await testDeps({ rateLimitMinute: "1" });
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const form = () =>
      bulkForm(alice.senderId, { format: "csv", file: FILE, senderUri: "https://cb.example.org/cb" });
    const signed = await form();
    const tampered = new TextEncoder().encode(
      new TextDecoder().decode(signed.bytes).replace("r1,UIN,X1", "r1,UIN,X2"),
    );
    assert.notDeepEqual(tampered, signed.bytes);
    const refused = await upload(app, alice, signed, tampered, deps.clock.now());
    const body = await refused.json();
    assert.equal(refused.status, 401, JSON.stringify(body));
    assert.equal(body.message.error.code, "err.signature.invalid");
    assert.equal(
      body.message.error.message,
      "HTTP message signature: Content-Digest does not match the body",
    );
    // The refusal spent the sender's one request of the minute: a genuine upload now waits.
    const genuine = await form();
    const next = await upload(app, alice, genuine, genuine.bytes, deps.clock.now());
    assert.equal(next.status, 429, JSON.stringify(await next.json()));
  } finally {
    deps.close();
  }
});

Deno.test("a bulk upload whose body matches its Content-Digest is accepted", async () => {
  const deps = await testDeps({ rateLimitMinute: "1" });
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const form = await bulkForm(alice.senderId, {
      format: "csv",
      file: FILE,
      senderUri: "https://cb.example.org/cb",
    });
    const res = await upload(app, alice, form, form.bytes, deps.clock.now());
    const body = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.equal(body.message.ack_status, "ACK");
  } finally {
    deps.close();
  }
});

Deno.test("a bulk upload whose body stops arriving is refused 408 err.request.timeout (DCI_BODY_IDLE_TIMEOUT_MS)", async () => {
  const deps = await testDeps({ bodyIdleTimeoutMs: "300" });
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const signed = await bulkForm(alice.senderId, {
      format: "csv",
      file: FILE,
      senderUri: "https://cb.example.org/cb",
    });
    // Half the form, then nothing: a stream of unknown length that never ends.
    const stalled = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(signed.bytes.subarray(0, signed.bytes.length >> 1));
      },
    });
    const res = await upload(app, alice, signed, stalled, deps.clock.now());
    const body = await res.json();
    assert.equal(res.status, 408, JSON.stringify(body));
    assert.equal(body.message.error.code, "err.request.timeout");
  } finally {
    deps.close();
  }
});
