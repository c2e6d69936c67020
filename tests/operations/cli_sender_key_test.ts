/**
 * `sender key add` and POST /admin/v1/senders/{id}/keys refuse a private key (issue 14 §5) with one shared
 * check (src/senders/private_key.ts), saying to give the public key, and never repeat the key's material.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { runCli } from "../../src/cli/cli.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { privateKeyKind } from "../../src/senders/private_key.ts";
import { addSender } from "../../src/senders/store.ts";
import { listSenderKeys } from "../../src/senders/keys.ts";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";

async function cli(args: string[], dataDir: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, COMMANDS, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env: { DCI_LOG_LEVEL: "error", DCI_DATA_DIR: dataDir },
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

const ed = generateKeyPairSync("ed25519");
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
/** The base64 body of a PEM (what must never be echoed). */
const bodyOf = (pem: string) => pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
const PKCS8 = ed.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
const PKCS1 = rsa.privateKey.export({ format: "pem", type: "pkcs1" }) as string;
const PRIVATE_JWK = ed.privateKey.export({ format: "jwk" }) as Record<string, unknown>;
const OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n" +
  "-----END OPENSSH PRIVATE KEY-----\n";

Deno.test("privateKeyKind() names PEM, PKCS#1, OpenSSH, JWK, JWK set and bare DER private keys, and no public key", () => {
  assert.equal(privateKeyKind(PKCS8), "a PEM private key");
  assert.equal(privateKeyKind(PKCS1), "a PEM private key");
  assert.equal(privateKeyKind(OPENSSH), "an OpenSSH private key");
  assert.equal(privateKeyKind(PRIVATE_JWK), 'a private JWK (it has "d")');
  assert.equal(privateKeyKind(JSON.stringify(PRIVATE_JWK)), 'a private JWK (it has "d")');
  assert.equal(privateKeyKind({ keys: [PRIVATE_JWK] }), "a JWK set holding a private key");
  assert.equal(privateKeyKind({ kty: "oct", k: "c2VjcmV0" }), 'a private JWK (it has "k")');
  assert.equal(privateKeyKind(bodyOf(PKCS8)), "a base64 DER private key");
  assert.equal(privateKeyKind(ed.publicKey.export({ format: "pem", type: "spki" }) as string), undefined);
  assert.equal(privateKeyKind(ed.publicKey.export({ format: "jwk" }) as Record<string, unknown>), undefined);
  assert.equal(privateKeyKind("{not json"), undefined);
});

Deno.test("sender key add refuses a private key file with exit 1, says to give the public key, never echoes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await cli(["migrate"], dir)).code, 0);
    assert.equal((await cli(["sender", "add", "alice"], dir)).code, 0);
    for (const [name, text] of [["pkcs8", PKCS8], ["pkcs1", PKCS1], ["jwk", JSON.stringify(PRIVATE_JWK)]]) {
      const file = `${dir}/${name}.key`;
      await Deno.writeTextFile(file, text);
      const r = await cli(["sender", "key", "add", "alice", `k-${name}`, "--file", file], dir);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /private key|private JWK/, name);
      assert.match(r.stderr, /public key/, name);
      assert.equal(r.stdout, "", name);
      const secret = name === "jwk" ? String(PRIVATE_JWK.d) : bodyOf(text);
      for (const chunk of [secret.slice(0, 16), secret.slice(-16)]) {
        assert.ok(!r.stderr.includes(chunk), `${name}: the refusal repeats key material`);
      }
    }
    const json = await cli(
      ["sender", "key", "add", "alice", "k1", "--file", `${dir}/pkcs8.key`, "--json"],
      dir,
    );
    assert.equal(json.code, 1);
    assert.match(JSON.parse(json.stderr).error.message, /public key/);
    const list = await cli(["sender", "key", "list", "alice", "--json"], dir);
    assert.deepEqual(JSON.parse(list.stdout).keys, [], "nothing was stored");
    // The public half of the same key is taken.
    await Deno.writeTextFile(
      `${dir}/pub.pem`,
      ed.publicKey.export({ format: "pem", type: "spki" }) as string,
    );
    assert.equal(
      (await cli(["sender", "key", "add", "alice", "k1", "--file", `${dir}/pub.pem`], dir)).code,
      0,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /admin/v1/senders/{id}/keys refuses a private PEM or JWK with 400 and the same message", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, "alice", {});
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const app = createApp(deps);
    const post = (body: unknown) =>
      app.request("/admin/v1/senders/alice/keys", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    for (const body of [{ key_id: "k1", pem: PKCS8 }, { key_id: "k1", jwk: PRIVATE_JWK }]) {
      const res = await post(body);
      const text = await res.text();
      assert.equal(res.status, 400, text);
      assert.match(text, /Give the sender's public key instead/);
      assert.ok(!text.includes(String(PRIVATE_JWK.d)) && !text.includes(bodyOf(PKCS8).slice(-16)));
    }
    assert.deepEqual(await listSenderKeys(deps, "alice"), []);
    const ok = await post({ key_id: "k1", pem: ed.publicKey.export({ format: "pem", type: "spki" }) });
    assert.equal(ok.status, 201, await ok.text());
  } finally {
    deps.close();
  }
});
