/**
 * Signatures over numbers as Python writes them (issue 12 §2): `5.0`, `1e-07`, `1.50` are hashed by a Python
 * signer as written, so the server canonicalises each number from its source text when it verifies.
 */
import assert from "node:assert/strict";
import { createHash, sign } from "node:crypto";
import { Buffer } from "node:buffer";
import { verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import { createApp } from "../../src/app.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { postApp, pyHeader } from "./support.ts";
import { PyDecimal, pyDumps, PyFloat, type PyValue } from "./python_json.ts";

/** Signs {header, message} as OpenSPP's DCISigner does; returns the body text as `requests` would send it. */
function pythonSigned(sender: TestSender, header: PyValue, message: PyValue, nowMs: number): string {
  const canonical = pyDumps({ header, message }, { sortKeys: true, separators: [",", ":"] });
  const digest = createHash("sha256").update(canonical, "utf8").digest("base64");
  const created = Math.floor(nowMs / 1000);
  const expires = created + 300;
  const sig = sign(
    null,
    Buffer.from(`(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`),
    sender.privateKey,
  );
  const signature =
    `namespace="dci", kidId="${sender.senderId}|${sender.keyId}|ed25519", algorithm="ed25519", ` +
    `created="${created}", expires="${expires}", headers="(created) (expires) digest", ` +
    `signature="${sig.toString("base64")}"`;
  return pyDumps({ signature, header, message });
}

function searchParts(sender: TestSender, nowMs: number): { header: PyValue; message: PyValue } {
  const ts = new Date(nowMs).toISOString();
  return {
    header: pyHeader(sender.senderId, ts, {
      meta: {
        score: new PyFloat(5),
        threshold: new PyFloat(1e-7),
        price: new PyDecimal("1.50"),
        zero: new PyFloat(-0),
        big: 12345678901234567890n,
      },
    }),
    message: {
      transaction_id: "txn-floats",
      search_request: [{
        reference_id: "ref-1",
        timestamp: ts,
        search_criteria: {
          query_type: "idtype-value",
          query: { type: "UIN", value: "nobody" },
          pagination: { page_size: new PyFloat(10), page_number: 1 },
        },
      }],
    },
  };
}

Deno.test("verifyEnvelope() verifies Python-written 5.0, 1e-07, 1.50, -0.0 and ints past 2^53 from the source text", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const { header, message } = searchParts(alice, deps.clock.now());
    const text = pythonSigned(alice, header, message, deps.clock.now());
    assert.match(
      text,
      /"score": 5\.0, "threshold": 1e-07, "price": 1\.50, "zero": -0\.0, "big": 12345678901234567890/,
    );
    const envelope = JSON.parse(text);
    const options = { nowMs: deps.clock.now(), resolveKey: () => alice.publicKey };
    assert.equal(verifyEnvelope(envelope, { ...options, sourceText: text }).ok, true);
    // The parsed values alone re-serialise as 5, 1e-7, 1.5, 0: not what the signer hashed.
    assert.deepEqual(verifyEnvelope(envelope, options), { ok: false, failure: { reason: "mismatch" } });
    // A literal that means the same number but is written differently is a changed byte.
    for (const [from, to] of [["1.50", "1.5"], ["5.0", "5.00"], ["1e-07", "1e-7"], ["-0.0", "0.0"]]) {
      const changed = text.replace(from, to);
      assert.notEqual(changed, text);
      const r = verifyEnvelope(JSON.parse(changed), { ...options, sourceText: changed });
      assert.equal(r.ok, false, `${from} → ${to}`);
    }
  } finally {
    deps.close();
  }
});

Deno.test("verifyEnvelope() verifies a JavaScript-signed envelope without re-reading its text", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const env = alice.sign({ header: { sender_id: alice.senderId, n: 5, f: 0.5 }, message: { x: "é" } });
    // Not JSON: the text would throw if it were parsed, so verifying proves the cheap path answered alone.
    const r = verifyEnvelope(env, {
      nowMs: deps.clock.now(),
      resolveKey: () => alice.publicKey,
      sourceText: "{",
    });
    assert.equal(r.ok, true);
  } finally {
    deps.close();
  }
});

Deno.test("verifyEnvelope() verifies a Python-signed string holding DEL, non-ASCII and an astral character", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const { header, message } = searchParts(alice, deps.clock.now());
    (header as Record<string, PyValue>).meta = { note: "del\x7f José Ñúñez 😀", tab: "a\tb" };
    const text = pythonSigned(alice, header, message, deps.clock.now());
    assert.match(text, /"note": "del\\u007f Jos\\u00e9 \\u00d1\\u00fa\\u00f1ez \\ud83d\\ude00"/);
    const options = { nowMs: deps.clock.now(), resolveKey: () => alice.publicKey, sourceText: text };
    assert.equal(verifyEnvelope(JSON.parse(text), options).ok, true);
    const changed = text.replace("\\u00e9", "e");
    assert.equal(verifyEnvelope(JSON.parse(changed), { ...options, sourceText: changed }).ok, false);
  } finally {
    deps.close();
  }
});

Deno.test("sync search: a bearer request whose envelope Python signed with float literals answers 200", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const { header, message } = searchParts(alice, deps.clock.now());
    const res = await postApp(app, alice.headers(), pythonSigned(alice, header, message, deps.clock.now()));
    const body = res.body;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.header.status, "succ");
    assert.equal(body.message.search_response[0].reference_id, "ref-1");
  } finally {
    deps.close();
  }
});
