/**
 * The spec's MsgSignature example starts with `Signature:` ('Signature:  namespace="spdci", kidId=…', every
 * registry's yaml): a signature string with one such leading label, in any case and spacing, reads as without it.
 */
import assert from "node:assert/strict";
import { parseSignature, verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import { createApp } from "../helpers/app.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { nobodySearch, postApp } from "./support.ts";

Deno.test("parseSignature() reads a signature string after one leading Signature: as the spec example writes it", async () => {
  const deps = await testDeps();
  try {
    const partner = await createTestSender(deps);
    const env = nobodySearch(partner.senderId, deps.clock.now());
    const bare = partner.signature(env).replace('namespace="dci"', 'namespace="spdci"');
    const expected = parseSignature(bare);
    assert.ok(expected.ok);
    const resolveKey = () => partner.publicKey;
    for (const prefix of ["Signature:  ", "Signature:", "signature: ", "  SIGNATURE : ", "\tSignature:\t"]) {
      const signature = prefix + bare;
      assert.deepEqual(parseSignature(signature), expected, JSON.stringify(prefix));
      assert.equal(verifyEnvelope({ ...env, signature }, { nowMs: deps.clock.now(), resolveKey }).ok, true);
    }
    for (const prefix of ["Signature: Signature: ", "Signature ", "Sig: ", "X-Signature: "]) {
      assert.deepEqual(
        parseSignature(prefix + bare),
        { ok: false, detail: "not a DCI signature string" },
        prefix,
      );
    }
    // Through the server: the spec-shaped string verifies.
    const res = await postApp(createApp(deps), partner.headers(), {
      ...env,
      signature: `Signature:  ${bare}`,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  } finally {
    deps.close();
  }
});
