import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { parseSignature } from "../../src/auth/envelope_signature.ts";

const SIGNATURE = 'namespace="dci", kidId="alice|k1|ed25519", algorithm="ed25519", ' +
  'created="@C", expires="@E", headers="(created) (expires) digest", signature="AAAA"';

const withTimes = (created: string, expires: string) =>
  SIGNATURE.replace("@C", created).replace("@E", expires);

Deno.test("parseSignature() takes created and expires as digits only", () => {
  const ok = parseSignature(withTimes("1767225600", "1767225900"));
  assert.ok(ok.ok);
  assert.equal(ok.params.created, 1767225600);
  assert.equal(ok.params.expires, 1767225900);
  for (
    const bad of [
      "",
      " ",
      " 1767225600",
      "1767225600 ",
      "1e3",
      "0x10",
      "0b1",
      "-5",
      "+5",
      "12.0",
      "1_000",
      "9".repeat(16),
    ]
  ) {
    for (const [created, expires] of [[bad, "1767225900"], ["1767225600", bad]]) {
      const parsed = parseSignature(withTimes(created, expires));
      assert.deepEqual(parsed, { ok: false, detail: "created and expires must be unix seconds" }, `"${bad}"`);
    }
  }
  // Left out entirely: malformed too.
  assert.equal(parseSignature(SIGNATURE.replace('created="@C", ', "").replace("@E", "1")).ok, false);
});

Deno.test('a search whose signature has created="" is refused as malformed, not as expired', async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    for (const created of ["", "0x10", "1e3"]) {
      const env = requestEnvelope(alice.senderId, { transaction_id: "t-times", search_request: [] }, {
        nowMs: deps.clock.now(),
      });
      const signature = alice.signature(env).replace(/created="\d+"/, `created="${created}"`);
      const res = await app.request("/registry/sync/search", {
        method: "POST",
        headers: { "content-type": "application/json", ...alice.headers() },
        body: JSON.stringify({ ...env, signature }),
      });
      const body = await res.json();
      assert.equal(res.status, 401, JSON.stringify(body));
      assert.equal(body.message.error.code, "err.signature.invalid");
      assert.equal(
        body.message.error.message,
        "Signature is malformed: created and expires must be unix seconds",
        `created="${created}"`,
      );
    }
  } finally {
    deps.close();
  }
});
