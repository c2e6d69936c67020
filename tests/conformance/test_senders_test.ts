/**
 * Test senders and named leniencies (issue 12 §4): a sender marked `test` may send a configured placeholder
 * (DCI_TEST_SIGNATURE_PLACEHOLDERS) that counts as no signature, while any other value is verified; answers to it
 * carry `header.meta.test_mode` and the logs say so. A sender given the `total_count` leniency may send a
 * header.total_count that differs from its item count; the answer states the real count.
 */
import assert from "node:assert/strict";
import { ack, partnerHarness, searchMessage, startPartnerReceiver } from "./partner.ts";
import type { TestSender } from "../helpers/auth.ts";

const code = (body: Record<string, unknown>) =>
  ((body.message as Record<string, unknown>)?.error as { code?: string } | undefined)?.code;

Deno.test("test sender: a placeholder counts as no signature, any other value is verified, answers and logs mark test mode", async () => {
  const h = await partnerHarness();
  try {
    const tester = await h.sender({ test_mode: true, signature_policy: "optional" });
    const normal = await h.sender({ signature_policy: "optional" });
    const strictTester = await h.sender({ test_mode: true });
    const search = (s: TestSender) => h.envelope(s, searchMessage(crypto.randomUUID()), { total_count: 1 });

    for (const placeholder of ["unsigned", "unsigned-stub"]) {
      const r = await h.post("/registry/sync/search", tester, search(tester), placeholder);
      assert.equal(r.status, 200, `${placeholder}: ${JSON.stringify(r.body)}`);
      assert.deepEqual((r.body.header as Record<string, unknown>).meta, { test_mode: true });
    }
    const signed = await h.post("/registry/sync/search", tester, search(tester), "sign");
    assert.equal(signed.status, 200);
    assert.deepEqual((signed.body.header as Record<string, unknown>).meta, { test_mode: true });
    // Anything else is a signature and must verify.
    const bogus = await h.post("/registry/sync/search", tester, search(tester), "unsigned-please");
    assert.equal(bogus.status, 401);
    assert.equal(code(bogus.body), "err.signature.invalid");
    const tampered = tester.sign(search(tester), h.deps.clock.now());
    tampered.message.transaction_id = "changed";
    assert.equal((await h.post("/registry/sync/search", tester, tampered, tampered.signature)).status, 401);

    // Only a test sender has placeholders; and a test sender whose policy requires a signature still needs one.
    const notTest = await h.post("/registry/sync/search", normal, search(normal), "unsigned");
    assert.equal(code(notTest.body), "err.signature.invalid");
    const required = await h.post("/registry/sync/search", strictTester, search(strictTester), "unsigned");
    assert.equal(required.status, 401);
    assert.equal(code(required.body), "err.signature.missing");

    const plain = await h.post("/registry/sync/search", normal, search(normal));
    assert.equal(plain.status, 200);
    assert.equal((plain.body.header as Record<string, unknown>).meta, undefined, "no test mark for others");

    const lines = h.logs.map((l) => JSON.parse(l));
    assert.ok(
      lines.some((l) => l.sender_id === tester.senderId && l.test_mode === true),
      "the access log says so",
    );
    assert.ok(!lines.some((l) => l.sender_id === normal.senderId && l.test_mode === true));
  } finally {
    h.close();
  }
});

Deno.test("test sender: the placeholders are a setting, and callbacks to a test sender carry header.meta.test_mode", async () => {
  const h = await partnerHarness({ testSignaturePlaceholders: "dev-unsigned" });
  const receiver = startPartnerReceiver();
  try {
    const tester = await h.sender({
      test_mode: true,
      signature_policy: "optional",
      callback_base_url: receiver.url,
    });
    const search = () => h.envelope(tester, searchMessage(crypto.randomUUID()), { total_count: 1 });
    assert.equal((await h.post("/registry/sync/search", tester, search(), "unsigned")).status, 401);
    assert.equal((await h.post("/registry/sync/search", tester, search(), "dev-unsigned")).status, 200);

    receiver.respond = () => ({ status: 200, body: ack() });
    const accepted = await h.post("/registry/search", tester, search(), "dev-unsigned");
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await h.drain();
    assert.equal(receiver.hits.length, 1);
    assert.deepEqual((receiver.hits[0].body.header as Record<string, unknown>).meta, { test_mode: true });
    assert.ok(h.logs.some((l) => l.includes('"delivery to a test sender (callback URL)"')));
  } finally {
    await receiver.close();
    h.close();
  }
});

Deno.test("leniency total_count: a lenient sender's mismatched total_count is answered with the real count; a strict one's is refused", async () => {
  const h = await partnerHarness();
  const receiver = startPartnerReceiver();
  try {
    const strict = await h.sender();
    const lenient = await h.sender({ lenient: ["total_count"], callback_base_url: receiver.url });
    const ten = (s: TestSender) => h.envelope(s, searchMessage(crypto.randomUUID()), { total_count: 10 });

    const refused = await h.post("/registry/sync/search", strict, ten(strict), "sign");
    assert.equal(refused.status, 400);
    assert.equal(
      (refused.body.header as Record<string, unknown>).status_reason_code,
      "rjct.total_count.invalid",
    );

    const answered = await h.post("/registry/sync/search", lenient, ten(lenient), "sign");
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal((answered.body.header as Record<string, unknown>).total_count, 1, "the real count");

    // The async path reads the setting when the search runs.
    assert.equal((await h.post("/registry/search", lenient, ten(lenient), "sign")).status, 202);
    await h.drain();
    const header = receiver.hits[0]?.body.header as Record<string, unknown>;
    assert.equal(header.status, "succ", JSON.stringify(receiver.hits[0]?.body));
    assert.equal(header.total_count, 1);
  } finally {
    await receiver.close();
    h.close();
  }
});

Deno.test("admin API: leniencies are named (an unknown one is refused naming the field) and test mode is shown", async () => {
  const h = await partnerHarness();
  try {
    const bad = await h.admin("POST", "/senders", { sender_id: "partner.example", lenient: ["everything"] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message!.error.message, /lenient must be a list of total_count/);
    const ok = await h.admin("POST", "/senders", {
      sender_id: "partner.example",
      lenient: ["total_count"],
      test_mode: true,
    });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.body.lenient, ["total_count"]);
    assert.equal(ok.body.test_mode, true);
  } finally {
    h.close();
  }
});
