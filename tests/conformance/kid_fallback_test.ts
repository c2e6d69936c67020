/**
 * kidId naming a key id we never registered (issue 12 §2): OpenSPP's verifier ignores kidId, so a partner may
 * send any key id. When the sender has exactly one active key of the signature's algorithm, that key verifies,
 * and the log says which key stood in for which; otherwise the request is refused naming the key id.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { signEnvelope } from "../../src/auth/envelope_signature.ts";
import { createApp } from "../helpers/app.ts";
import { createLogger } from "../../src/obs/log.ts";
import { addSenderKey } from "../../src/senders/keys.ts";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { nobodySearch, postApp } from "./support.ts";

async function setup() {
  const deps = await testDeps();
  const lines: Record<string, unknown>[] = [];
  deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
  const partner = await createTestSender(deps, { senderId: "https://integrating-server.com" });
  return { deps, lines, partner, app: createApp(deps) };
}

/** A sync search from `sender` signed with `privateKey` under `kid`. */
async function search(
  ctx: { deps: TestDeps; app: ReturnType<typeof createApp> },
  sender: TestSender,
  kid: string,
  privateKey: KeyObject,
) {
  const env = nobodySearch(sender.senderId, ctx.deps.clock.now());
  const alg = kid.endsWith("rsa-sha256") ? "rsa-sha256" as const : "ed25519" as const;
  const signature = signEnvelope(env, { kid, alg, privateKey }, { nowMs: ctx.deps.clock.now() });
  return await postApp(ctx.app, sender.headers(), { ...env, signature });
}

Deno.test("authenticate() verifies with the sender's only ed25519 key when kidId names an unregistered key id, and logs it", async () => {
  const ctx = await setup();
  try {
    const { partner, lines } = ctx;
    const r = await search(ctx, partner, `${partner.senderId}|openspp-2024|ed25519`, partner.privateKey);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const chosen = lines.find((l) =>
      l.msg === "signature verified with the sender's only key of its algorithm"
    );
    assert.ok(chosen, "a log line names the key that stood in");
    assert.deepEqual([chosen.sender_id, chosen.key_id, chosen.kid_key_id], [
      partner.senderId,
      "k1",
      "openspp-2024",
    ]);
    const access = lines.find((l) => l.msg === "request" && l.status === 200);
    assert.deepEqual([access?.key_id, access?.kid_key_id], ["k1", "openspp-2024"]);
    // A registered key id is used as named, with no fallback line.
    lines.length = 0;
    assert.equal(
      (await search(ctx, partner, `${partner.senderId}|k1|ed25519`, partner.privateKey)).status,
      200,
    );
    assert.equal(lines.find((l) => l.msg === "request")?.key_id, "k1");
    assert.equal(lines.some((l) => "kid_key_id" in l), false);
  } finally {
    ctx.deps.close();
  }
});

Deno.test("authenticate() refuses an unregistered kidId key id when no single key of the algorithm can stand in", async () => {
  const ctx = await setup();
  try {
    const { partner, deps } = ctx;
    // A signature by another key still fails: the stand-in key verifies nothing it did not sign.
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const wrong = await search(ctx, partner, `${partner.senderId}|openspp-2024|ed25519`, stranger);
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.message.error.message, /does not match/);
    // No rsa-sha256 key to stand in for an RSA kidId.
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const noRsa = await search(ctx, partner, `${partner.senderId}|r1|rsa-sha256`, rsa);
    assert.equal(noRsa.status, 401);
    assert.match(noRsa.body.message.error.message, /key "r1" .* no single active rsa-sha256 key/);
    // Another sender's id in kidId is never accepted, whatever its keys.
    const other = await search(ctx, partner, `social.example.org|k1|ed25519`, partner.privateKey);
    assert.equal(other.status, 401);
    assert.match(other.body.message.error.message, /kidId names sender "social.example.org"/);
    // Two ed25519 keys: which one was meant is unknown, so the named id must exist.
    await addSenderKey(deps, partner.senderId, {
      keyId: "k2",
      material: generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string,
    });
    const two = await search(ctx, partner, `${partner.senderId}|openspp-2024|ed25519`, partner.privateKey);
    assert.equal(two.status, 401);
    assert.equal(two.body.message.error.code, "err.signature.invalid");
    assert.match(
      two.body.message.error.message,
      /key "openspp-2024" of sender "https:\/\/integrating-server.com"/,
    );
  } finally {
    ctx.deps.close();
  }
});
