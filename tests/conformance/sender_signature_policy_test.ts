/**
 * The envelope signature policy and signature window are per-sender settings (issue 12 §2, §4, §6): the global
 * default stays `required` and 300 s; an operator sets `optional` or `off`, and a window of up to 3,600 s, for
 * one sender without weakening any other.
 */
import assert from "node:assert/strict";
import { createHash, sign } from "node:crypto";
import { Buffer } from "node:buffer";
import { partnerHarness, searchMessage } from "./partner.ts";
import type { TestSender } from "../helpers/auth.ts";
import { canonicalJson } from "../../src/dci/canonical.ts";

/** A DCI signature string valid from now for `windowS` seconds (signEnvelope caps its own window at 300 s). */
function signatureWithWindow(
  sender: TestSender,
  envelope: { header: unknown; message: unknown },
  nowMs: number,
  windowS: number,
): string {
  const created = Math.floor(nowMs / 1000);
  const expires = created + windowS;
  const json = canonicalJson({ header: envelope.header, message: envelope.message }, { asciiEscape: true });
  const digest = createHash("sha256").update(json, "utf8").digest("base64");
  const sig = sign(
    null,
    Buffer.from(`(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`),
    sender.privateKey,
  );
  return `namespace="dci", kidId="${sender.senderId}|${sender.keyId}|ed25519", algorithm="ed25519", ` +
    `created="${created}", expires="${expires}", headers="(created) (expires) digest", ` +
    `signature="${sig.toString("base64")}"`;
}

const code = (body: Record<string, unknown>) =>
  ((body.message as Record<string, unknown>)?.error as { code?: string } | undefined)?.code;

Deno.test("signature policy per sender: optional answers an unsigned search, required (the default) refuses it, off ignores the signature", async () => {
  const h = await partnerHarness();
  try {
    const strict = await h.sender();
    const relaxed = await h.sender({ signature_policy: "optional" });
    const off = await h.sender({ signature_policy: "off" });
    const search = (s: TestSender) => h.envelope(s, searchMessage(crypto.randomUUID()), { total_count: 1 });

    const refused = await h.post("/registry/sync/search", strict, search(strict));
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(code(refused.body), "err.signature.missing");

    const answered = await h.post("/registry/sync/search", relaxed, search(relaxed));
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    // Optional is not "anything goes": a signature that is present is verified.
    const forged = await h.post(
      "/registry/sync/search",
      relaxed,
      search(relaxed),
      strict.signature(search(strict)),
    );
    assert.equal(forged.status, 401);
    assert.equal(code(forged.body), "err.signature.invalid");
    assert.equal((await h.post("/registry/sync/search", relaxed, search(relaxed), "sign")).status, 200);

    const ignored = await h.post("/registry/sync/search", off, search(off), "not a signature");
    assert.equal(ignored.status, 200, JSON.stringify(ignored.body));
    // The default sender is untouched by the others' settings.
    assert.equal((await h.post("/registry/sync/search", strict, search(strict), "sign")).status, 200);
  } finally {
    h.close();
  }
});

Deno.test("async txn/status from a sender whose policy is optional needs no signature; a required sender's is refused", async () => {
  const h = await partnerHarness();
  try {
    const relaxed = await h.sender({ signature_policy: "optional" });
    const strict = await h.sender();
    const status = (s: TestSender) =>
      h.envelope(s, {
        transaction_id: crypto.randomUUID(),
        txnstatus_request: {
          reference_id: "r-1",
          txn_type: "search",
          attribute_type: "transaction_id",
          attribute_value: "t-unknown",
        },
      }, { action: "txn-status", total_count: 1, sender_uri: "http://127.0.0.1:9/cb" });
    const ok = await h.post("/registry/txn/status", relaxed, status(relaxed));
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal((ok.body.message as Record<string, unknown>).ack_status, "ACK");
    const refused = await h.post("/registry/txn/status", strict, status(strict));
    assert.equal(refused.status, 401);
    assert.equal(code(refused.body), "err.signature.missing");
  } finally {
    h.close();
  }
});

Deno.test("signature window per sender: 300 s by default, up to the sender's maximum (at most 3,600 s)", async () => {
  const h = await partnerHarness();
  try {
    const plain = await h.sender();
    const longer = await h.sender({ signature_max_window_seconds: 3600 });
    const now = h.deps.clock.now();
    const signed = (s: TestSender, windowS: number) => {
      const env = h.envelope(s, searchMessage(crypto.randomUUID()), { total_count: 1 });
      return { env, sig: signatureWithWindow(s, env, now, windowS) };
    };

    let a = signed(plain, 300);
    assert.equal((await h.post("/registry/sync/search", plain, a.env, a.sig)).status, 200);
    a = signed(plain, 3600);
    const refused = await h.post("/registry/sync/search", plain, a.env, a.sig);
    assert.equal(refused.status, 401);
    assert.match(String((refused.body.message as { error: { message: string } }).error.message), /300 s/);

    let b = signed(longer, 3600);
    const accepted = await h.post("/registry/sync/search", longer, b.env, b.sig);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    b = signed(longer, 3601);
    assert.equal((await h.post("/registry/sync/search", longer, b.env, b.sig)).status, 401);
  } finally {
    h.close();
  }
});

Deno.test("admin API: per-sender signature settings are checked, shown as effective values, and null restores the default", async () => {
  const h = await partnerHarness({ signaturePolicy: "required" });
  try {
    const s = await h.sender();
    const patch = (body: unknown) => h.admin("PATCH", `/senders/${s.senderId}`, body);
    for (
      const [bad, field] of [
        [{ signature_max_window_seconds: 3601 }, "signature_max_window_seconds"],
        [{ signature_max_window_seconds: 0 }, "signature_max_window_seconds"],
        [{ signature_policy: "sometimes" }, "signature_policy"],
      ] as const
    ) {
      const r = await patch(bad);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(String(r.body.message!.error.message), new RegExp(field));
    }
    let r = await patch({ signature_policy: "optional", signature_max_window_seconds: 900 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.signature_policy, "optional");
    assert.equal(r.body.signature_max_window_seconds, 900);
    r = await patch({ signature_policy: null, signature_max_window_seconds: null });
    assert.equal(r.body.signature_policy, "required");
    assert.equal(r.body.signature_max_window_seconds, 300);
    // A sender's own bearer token is no admin credential: it cannot change its settings.
    const own = await h.app.request(`/admin/v1/senders/${s.senderId}`, {
      method: "PATCH",
      headers: { ...s.headers(), "content-type": "application/json" },
      body: JSON.stringify({ signature_policy: "off" }),
    });
    assert.equal(own.status, 401);
  } finally {
    h.close();
  }
});
