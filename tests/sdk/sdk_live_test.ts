/**
 * The SDK and its examples against one live server (`main.ts serve` on loopback, demo registry seeded): tokens,
 * envelope signatures in both canonical forms (Ed25519, RSA), RFC 9421, verified answers; then the README's
 * first_search.ts, the Node example on the built module, the Python (cryptography) and Java (JDK only) examples,
 * each run from a copy of sdk/ outside the repository so nothing of ../src can leak in.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import * as sdk from "../../sdk/mod.ts";
import { startServerProcess } from "../helpers/server.ts";
import { specFetch } from "../helpers/spec_hooks.ts";
import { createServerSender, type TestSender } from "../helpers/auth.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs a program and returns its exit code and output. */
async function run(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(program, {
    args,
    ...options,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function has(program: string, args: string[]): Promise<boolean> {
  try {
    return (await run(program, args)).code === 0;
  } catch {
    return false;
  }
}

function pemOf(s: TestSender): string {
  return s.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
}

/** What the Node, Python and Java examples print: one JSON line. */
function assertExampleFound(result: { code: number; stdout: string; stderr: string }, what: string): void {
  assert.equal(result.code, 0, `${what}: ${result.stderr}${result.stdout}`);
  const line = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  assert.equal(line.status, 200, what);
  assert.equal(line.verified, true, what);
  assert.match(line.kid, /^dci-server\|k\d{8}-[0-9a-f]+\|ed25519$/, what);
  assert.equal(line.item_status, "succ", what);
  assert.match(JSON.stringify(line.records), /"identifier_value":"TEST-001"/, what);
}

const JAVA = await has("java", ["-version"]);
/** The first python3 with `cryptography` (pyenv's on PATH, else Debian's, which .ci/run installs it into). */
const PYTHON = (await has("python3", ["-c", "import cryptography"])) ? "python3" : "/usr/bin/python3";

Deno.test("sdk against a live server: signed searches in both forms, RFC 9421, tokens, verified answers, and the Deno, Node, Python and Java examples", async (t) => {
  const server = await startServerProcess({
    env: {
      DCI_SEED_DEMO: "true",
      DCI_DEMO_SIZE: "20",
      DCI_REGISTRIES: "social,ibr",
      DCI_WORKER: "true",
      DCI_OUTBOUND_ALLOW: "127.0.0.1", // the callback receiver below is on loopback
    },
  });
  const outside = await Deno.makeTempDir({ prefix: "dci-sdk-copy-" });
  try {
    for (const registry of ["social", "ibr"]) {
      await server.waitForLog((l) => l.msg === "demo registry seeded" && l.registry === registry);
    }
    const ed = await createServerSender(server, { scopes: ["registry.search"] });
    const rsa = await createServerSender(server, { alg: "rsa-sha256", scopes: ["registry.search"] });
    await cp(`${ROOT}sdk`, `${outside}/sdk`, { recursive: true });
    const keyFile = `${outside}/sender.key`;
    await Deno.writeTextFile(keyFile, pemOf(ed));
    const client = async (s: TestSender, options: Partial<sdk.DciClientOptions> = {}) =>
      new sdk.DciClient({
        baseUrl: server.url,
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        key: await sdk.senderKey(s.senderId, s.keyId, pemOf(s)),
        serverId: "dci-server",
        fetch: specFetch, // every answer is also checked against the registry's spec
        ...options,
      });
    const TEST_001 = [{ query: { type: "UIN", value: "TEST-001" } }];
    const records = (a: sdk.DciAnswer) =>
      JSON.stringify((a.body.message as { search_response: { data: unknown }[] }).search_response[0].data);

    await t.step(
      "DciClient: token, Ed25519 signed sync search → 200 with TEST-001; the answer verifies with the JWKS, a changed byte of it does not",
      async () => {
        const dci = await client(ed);
        const answer = await dci.search(TEST_001);
        assert.equal(answer.status, 200, answer.text);
        assert.match(records(answer), /"identifier_value":"TEST-001"/);
        assert.equal(answer.verification?.ok, true);
        const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
        assert.equal(answer.verification?.ok && answer.verification.params.kid, jwks.keys[0].kid);
        const changed = answer.text.replace('"TEST-001"', '"TEST-002"');
        assert.notEqual(changed, answer.text);
        assert.deepEqual(await dci.serverKeys.verifyText(changed), { ok: false, reason: "mismatch" });
      },
    );

    await t.step(
      "DciClient: a sender whose operator allows 60 s signatures is refused at the default 300 s, answered with signatureTtlSeconds: 60",
      async () => {
        const tight = await createServerSender(server, {
          scopes: ["registry.search"],
          signature_max_window_seconds: 60,
        });
        const refused = await (await client(tight)).search(TEST_001);
        assert.equal(refused.status, 401, refused.text);
        assert.match(refused.text, /60 s/);
        const answer = await (await client(tight, { signatureTtlSeconds: 60 })).search(TEST_001);
        assert.equal(answer.status, 200, answer.text);
        assert.match(records(answer), /"identifier_value":"TEST-001"/);
      },
    );

    await t.step(
      "DciClient.post: IBR sync/enrolled with a list of criteria is counted from the list (total_count 2) and answered",
      async () => {
        const dci = await client(ed);
        const answer = await dci.post(
          "/dci_api/v1/ibr/registry/sync/enrolled",
          dci.envelope({
            transaction_id: "T-enrolled",
            enrolled_criteria: [{ query: { UIN: "BENEFICIARY-TEST-001" } }, { query: { UIN: "nobody" } }],
          }, "search"),
        );
        assert.equal(answer.status, 200, answer.text);
        const items = (answer.body.message as { enrolled_response: Array<{ enrolled_status: string }> })
          .enrolled_response;
        assert.deepEqual(items.map((i) => i.enrolled_status), ["yes", "no"]);
      },
    );

    await t.step(
      "async search: the ACK is unsigned; the on-search callback the server POSTs verifies with ServerKeys",
      async () => {
        let delivered!: (text: string) => void;
        const callback = new Promise<string>((resolve) => delivered = resolve);
        const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
          delivered(await req.text());
          return Response.json({ message: { ack_status: "ACK", timestamp: new Date().toISOString() } });
        });
        try {
          const dci = await client(ed);
          const senderUri = `http://127.0.0.1:${receiver.addr.port}/dci`;
          const ack = await dci.post(
            "/registry/search",
            dci.envelope(sdk.searchMessage(TEST_001), "search", { senderUri }),
          );
          assert.equal(ack.status, 202, ack.text);
          assert.equal(ack.verification, undefined);
          const text = await callback;
          const verified = await dci.serverKeys.verifyText(text);
          assert.equal(verified.ok, true, JSON.stringify(verified));
          assert.match(text, /"identifier_value":"TEST-001"/);
          const changed = text.replace("TEST-001", "TEST-002");
          assert.deepEqual(await dci.serverKeys.verifyText(changed), { ok: false, reason: "mismatch" });
        } finally {
          await receiver.shutdown();
        }
      },
    );

    await t.step(
      "DciClient: a token the server refuses (401 err.request.unauthorized) is fetched again and the request sent once more",
      async () => {
        let first = true;
        const dci = await client(ed, {
          fetch: (input, init) => {
            const headers = new Headers(init?.headers);
            if (String(input).endsWith("/registry/sync/search") && first) {
              first = false;
              headers.set("authorization", "Bearer not-a-token");
            }
            return specFetch(input, { ...init, headers });
          },
        });
        const answer = await dci.search(TEST_001);
        assert.equal(answer.status, 200, answer.text);
        assert.equal(first, false);
        assert.equal(dci.tokens.fetched, 2);
      },
    );

    await t.step(
      "an envelope changed by one byte after the SDK signed it is refused: 401 err.signature.invalid",
      async () => {
        const key = await sdk.senderKey(ed.senderId, ed.keyId, pemOf(ed));
        const env = sdk.buildEnvelope(sdk.searchMessage(TEST_001), {
          senderId: ed.senderId,
          action: "search",
        });
        const body = sdk.toJson(await sdk.signedEnvelope(env, key)).replace("TEST-001", "TEST-002");
        const res = await specFetch(`${server.url}/registry/sync/search`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${ed.token}` },
          body,
        });
        const refusal = await res.json();
        assert.equal(res.status, 401);
        assert.equal(refusal.message.error.code, "err.signature.invalid");
      },
    );

    await t.step(
      "the JCS form, the Python form with non-ASCII text and an RSA key are all accepted",
      async () => {
        const zoe = [{ query: { type: "UIN", value: "Zoë-001" } }];
        assert.notEqual(sdk.canonicalJson(zoe, "jcs"), sdk.canonicalJson(zoe, "python"));
        for (const dci of [await client(ed, { form: "jcs" }), await client(ed), await client(rsa)]) {
          const answer = await dci.search(zoe);
          assert.equal(answer.status, 200, answer.text);
          assert.equal(answer.verification?.ok, true);
        }
        const answer = await (await client(rsa)).search(TEST_001);
        assert.match(records(answer), /"identifier_value":"TEST-001"/);
      },
    );

    await t.step(
      "RFC 9421: a request signed by the SDK (no envelope signature) → 200; a body its Content-Digest does not match → 401",
      async () => {
        for (const s of [ed, rsa]) {
          const answer = await (await client(s, { signWith: "http" })).search(TEST_001);
          assert.equal(answer.status, 200, answer.text);
          assert.match(records(answer), /"identifier_value":"TEST-001"/);
        }
        const key = await sdk.senderKey(ed.senderId, ed.keyId, pemOf(ed));
        const url = `${server.url}/registry/sync/search`;
        const body = sdk.toJson(
          sdk.buildEnvelope(sdk.searchMessage(TEST_001), { senderId: ed.senderId, action: "search" }),
        );
        const headers = await sdk.signRequest({
          method: "POST",
          url,
          headers: { "content-type": "application/json", authorization: `Bearer ${ed.token}` },
          body,
        }, key);
        const res = await specFetch(url, {
          method: "POST",
          headers,
          body: body.replace("TEST-001", "TEST-002"),
        });
        const refusal = await res.json();
        assert.equal(res.status, 401);
        assert.match(refusal.message.error.message, /Content-Digest does not match/);
      },
    );

    await t.step(
      "TokenClient keeps its token until shortly before expiry, then fetches a new one the server accepts",
      async () => {
        let now = Date.now();
        const tokens = new sdk.TokenClient({
          tokenUrl: `${server.url}/oauth2/client/token`,
          clientId: ed.clientId,
          clientSecret: ed.clientSecret,
          now: () => now,
        });
        const [a, b] = await Promise.all([tokens.token(), tokens.token()]);
        assert.equal(a, b);
        now += 3_600_000 - 61_000; // DCI_TOKEN_TTL_SECONDS is 3600; the margin is 60 s
        assert.equal(await tokens.token(), a);
        assert.equal(tokens.fetched, 1);
        now += 2_000;
        const fresh = await tokens.token();
        assert.notEqual(fresh, a);
        assert.equal(tokens.fetched, 2);
        const key = await sdk.senderKey(ed.senderId, ed.keyId, pemOf(ed));
        const env = sdk.buildEnvelope(sdk.searchMessage(TEST_001), {
          senderId: ed.senderId,
          action: "search",
        });
        const res = await specFetch(`${server.url}/registry/sync/search`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${fresh}` },
          body: sdk.toJson(await sdk.signedEnvelope(env, key)),
        });
        assert.equal(res.status, 200, await res.text());
        const bad = new sdk.TokenClient({
          tokenUrl: `${server.url}/oauth2/client/token`,
          clientId: ed.clientId,
          clientSecret: "x",
        });
        await assert.rejects(bad.token(), (e) => e instanceof sdk.TokenError && e.error === "invalid_client");
      },
    );

    const secrets = { DCI_CLIENT_ID: ed.clientId, DCI_CLIENT_SECRET: ed.clientSecret };
    const exampleArgs = [server.url, ed.senderId, ed.keyId, keyFile, "UIN", "TEST-001"];

    await t.step(
      "the README's first search: deno run sdk/examples/first_search.ts, from the repository and from a copy outside it",
      async () => {
        const port = new URL(server.url).port;
        const perms = [
          `--allow-net=127.0.0.1:${port}`,
          `--allow-read=${keyFile}`,
          "--allow-env=DCI_CLIENT_ID,DCI_CLIENT_SECRET",
        ];
        for (
          const [cwd, script] of [[ROOT, "sdk/examples/first_search.ts"], [
            outside,
            "sdk/examples/first_search.ts",
          ]]
        ) {
          const result = await run(Deno.execPath(), ["run", ...perms, script, ...exampleArgs], {
            cwd,
            env: secrets,
          });
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stderr, /HTTP 200, signature verified/);
          assert.match(result.stdout, /"identifier_value": "TEST-001"/);
        }
      },
    );

    await t.step(
      "Node: node sdk/examples/search.mjs on the built module (copy outside the repository)",
      async () => {
        const result = await run("node", ["sdk/examples/search.mjs", ...exampleArgs], {
          cwd: outside,
          env: secrets,
        });
        assertExampleFound(result, "node");
        // Installed as a package (npm install ./sdk links it so), `import … from "dci-sdk"` finds the build.
        await Deno.mkdir(`${outside}/node_modules`);
        await Deno.symlink(`${outside}/sdk`, `${outside}/node_modules/dci-sdk`);
        const script = 'import { canonicalJson, DciClient } from "dci-sdk";' +
          'console.log(typeof DciClient, canonicalJson({ b: 1, a: "\u00e9" }));';
        const byName = await run("node", ["--input-type=module", "-e", script], { cwd: outside });
        assert.equal(byName.stdout.trim(), 'function {"a":"\\u00e9","b":1}', byName.stderr);
      },
    );

    await t.step(
      "Python: sdk/examples/python/search.py (cryptography, OpenSPP's canonical form)",
      async () => {
        const result = await run(PYTHON, ["sdk/examples/python/search.py", ...exampleArgs], {
          cwd: outside,
          env: secrets,
        });
        assertExampleFound(result, "python");
      },
    );

    await t.step({
      name: "Java: java sdk/examples/java/Search.java (JDK only)",
      ignore: !JAVA,
      fn: async () => {
        const result = await run("java", ["sdk/examples/java/Search.java", ...exampleArgs], {
          cwd: outside,
          env: secrets,
        });
        assertExampleFound(result, "java");
      },
    });
  } finally {
    await server.stop();
    await Deno.remove(outside, { recursive: true });
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});
