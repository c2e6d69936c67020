/**
 * A JWKS member that is not a usable signing key (an encryption key, an EC or symmetric key, a bad or repeated kid)
 * is skipped and reported, not a reason to refuse the partner's other keys; a JWKS left with no usable key is a
 * failed fetch, and the keys fetched before stay. Real keys, a real JWKS endpoint on a loopback port.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { testDeps } from "../helpers/deps.ts";
import { fetchSenderKeys, parseJwks } from "../../src/senders/jwks_fetch.ts";
import { listSenderKeys } from "../../src/senders/keys.ts";
import { addSender, getSender } from "../../src/senders/store.ts";
import { SenderError } from "../../src/senders/errors.ts";
import { createLogger } from "../../src/obs/log.ts";

type Jwk = Record<string, unknown>;

const publicJwk = (pair: { publicKey: { export(o: { format: "jwk" }): unknown } }) =>
  pair.publicKey.export({ format: "jwk" }) as Jwk;
const ed = () => publicJwk(generateKeyPairSync("ed25519"));

/** A JWKS with two usable keys among members of every kind a partner's JWKS may also hold. */
function mixedJwks(): Jwk[] {
  const rsa = publicJwk(generateKeyPairSync("rsa", { modulusLength: 2048 }));
  return [
    { ...ed(), kid: "good-ed" },
    { ...ed(), kid: "enc-1", use: "enc" },
    { ...ed(), kid: "wrap-1", key_ops: ["encrypt"] },
    { ...publicJwk(generateKeyPairSync("ec", { namedCurve: "P-256" })), kid: "ec-1" },
    { kty: "oct", k: "c2VjcmV0LXNoYXJlZC1rZXk", kid: "hmac-1" },
    { ...rsa, kid: "oaep-1", alg: "RSA-OAEP" },
    { ...ed(), kid: "mixed-1", alg: "RS256" },
    { ...ed(), kid: "bad kid" },
    { ...ed(), kid: "twin" },
    { ...ed(), kid: "p|twin|ed25519" },
    { ...publicJwk(generateKeyPairSync("x25519")), kid: "x-1" },
    "not a key",
    { ...ed() },
    { ...rsa, kid: "good-rsa", use: "sig", key_ops: ["verify"], alg: "RS256" },
    { ...ed(), kid: "p|k9|rs256" },
    { ...publicJwk(generateKeyPairSync("rsa", { modulusLength: 1024 })), kid: "small" },
  ] as Jwk[];
}

const MIXED_SKIPPED = [
  'key #1 (enc-1): use "enc" is not "sig"',
  'key #2 (wrap-1): key_ops ["encrypt"] has no "verify"',
  'key #3 (ec-1): kty "EC" is not supported (OKP with crv Ed25519, or RSA)',
  'key #4 (hmac-1): kty "oct" is a symmetric key, not a public signing key',
  'key #5 (oaep-1): alg "RSA-OAEP" is not a signing algorithm of this RSA key (RS256)',
  'key #6 (mixed-1): alg "RS256" is not a signing algorithm of this OKP key (EdDSA)',
  'key #7 (bad kid): key_id "bad kid" must be [A-Za-z0-9_.:-], 1 to 99 characters, not . or ..',
  'key #8 (twin): key_id "twin" appears more than once',
  'key #9 (p|twin|ed25519): key_id "twin" appears more than once',
  'key #10 (x-1): crv "X25519" is not supported (Ed25519)',
  "key #11 (no kid): not a JSON object",
  "key #12 (no kid): it has no kid",
  'key #14 (p|k9|rs256): kid names alg "rs256" for a ed25519 key',
  "key #15 (small): RSA keys must have at least 2048 bits",
];

Deno.test("parseJwks() keeps the usable signing keys and says why it skipped each other member", () => {
  const { keys, skipped } = parseJwks(JSON.stringify({ keys: mixedJwks() }));
  assert.deepEqual(keys.map((k) => [k.keyId, k.alg]), [["good-ed", "ed25519"], ["good-rsa", "rsa-sha256"]]);
  assert.deepEqual(skipped, MIXED_SKIPPED);
  // One kid for a signing key and an encryption key (a common JWKS): the encryption member is skipped for its own
  // reason, so the signing one is not a repeat.
  const shared = parseJwks(
    JSON.stringify({ keys: [{ ...ed(), kid: "k1", use: "sig" }, { ...ed(), kid: "k1", use: "enc" }] }),
  );
  assert.deepEqual(shared.keys.map((k) => k.keyId), ["k1"]);
  assert.deepEqual(shared.skipped, ['key #1 (k1): use "enc" is not "sig"']);
  // The document as a whole: still refused when it is no JWKS, too long, or has no usable key.
  const refused: Array<[string, unknown, RegExp]> = [
    ["empty", { keys: [] }, /^JWKS has no usable signing key$/],
    [
      "only unusable",
      { keys: [{ ...ed(), kid: "enc-1", use: "enc" }] },
      /no usable signing key: key #0 \(enc-1\)/,
    ],
    [
      "51 keys",
      { keys: Array.from({ length: 51 }, (_, i) => ({ ...ed(), kid: `k${i}` })) },
      /51 keys \(at most 50\)/,
    ],
    ["no keys array", { key: [] }, /no "keys" array/],
  ];
  for (const [what, doc, re] of refused) {
    assert.throws(
      () => parseJwks(JSON.stringify(doc)),
      (e) => e instanceof SenderError && re.test(e.message),
      what,
    );
  }
});

Deno.test("fetchSenderKeys() stores the usable keys and reports the skipped; no usable key or a private key keeps the old keys", async () => {
  let doc: unknown = { keys: mixedJwks() };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => Response.json(doc));
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const lines: Jwk[] = [];
  deps.log = createLogger("warn", { sink: (l) => lines.push(JSON.parse(l)) });
  try {
    await addSender(deps, "p", { jwks_url: `http://127.0.0.1:${server.addr.port}/jwks.json` });
    assert.deepEqual(await fetchSenderKeys(deps, "p"), { ok: true, keys: 2, skipped: MIXED_SKIPPED });
    const ids = async () => (await listSenderKeys(deps, "p")).map((k) => k.key_id).sort();
    assert.deepEqual(await ids(), ["good-ed", "good-rsa"]);
    const warning = lines.find((l) => l.msg === "sender JWKS members skipped");
    assert.deepEqual([warning?.level, warning?.sender_id, warning?.skipped], ["warn", "p", MIXED_SKIPPED]);
    // Nothing usable left: a failed fetch, recorded, and the keys fetched before stay.
    for (
      const [next, error] of [
        [{ keys: [] }, "JWKS has no usable signing key"],
        [
          { keys: [{ ...ed(), kid: "enc-2", use: "enc" }] },
          'JWKS has no usable signing key: key #0 (enc-2): use "enc" is not "sig"',
        ],
      ] as const
    ) {
      doc = next;
      assert.deepEqual(await fetchSenderKeys(deps, "p"), { ok: false, error });
      assert.equal((await getSender(deps, "p"))!.jwks_fetch_error, error);
      assert.deepEqual(await ids(), ["good-ed", "good-rsa"]);
    }
    // A private key beside a good one refuses the whole document, without repeating its material.
    const priv = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) as Jwk;
    doc = { keys: [{ ...ed(), kid: "fine" }, { ...priv, kid: "leaked" }] };
    const leaked = await fetchSenderKeys(deps, "p");
    assert.equal(leaked.ok, false);
    const error = (leaked as { error: string }).error;
    assert.match(error, /^JWKS key #1 \(leaked\): refused: this is a private JWK \(it has "d"\)/);
    assert.equal(error.includes(String(priv.d)), false);
    assert.deepEqual(await ids(), ["good-ed", "good-rsa"]);
    // A JWKS shared by several partners (a hub's): a member whose kid names another sender is not this sender's
    // key, so it cannot sign as "p"; its key id does not make p's key of the same id a repeat.
    doc = {
      keys: [
        { ...ed(), kid: "other|hub-1|ed25519" },
        { ...ed(), kid: "p|hub-1|ed25519" },
        { ...ed(), kid: "https://p.example|hub-2" },
        { ...ed(), kid: "plain-1" },
      ],
    };
    assert.deepEqual(await fetchSenderKeys(deps, "p"), {
      ok: true,
      keys: 2,
      skipped: [
        'key #0 (other|hub-1|ed25519): kid names sender "other", not "p"',
        'key #2 (https://p.example|hub-2): kid names sender "https://p.example", not "p"',
      ],
    });
    assert.deepEqual(await ids(), ["hub-1", "plain-1"]);
  } finally {
    deps.close();
    await server.shutdown();
  }
});
