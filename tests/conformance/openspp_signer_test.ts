/**
 * Done-when (b) of issue 12: envelopes signed by an independent OpenSPP-rule signer verify end to end on the real
 * server (sync search with a bearer token), and one changed byte fails. The signer follows OpenSPP's DCISigner:
 * digest = base64(SHA-256(json.dumps({"header", "message"}, sort_keys=True, separators=(",", ":")))), signing
 * string `(created): C\n(expires): E\ndigest: D`, Ed25519 (WebCrypto here, not the server's node:crypto), and the
 * body goes out as Python's `requests` (json.dumps defaults) or `httpx` (compact, UTF-8) write it. The sender is
 * `https://integrating-server.com`, registered with the CLI, given a client through the admin API.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { runCliProcess, type ServerProcess, startServerProcess } from "../helpers/server.ts";
import { fetchToken } from "../helpers/auth.ts";
import { pyHeader } from "./support.ts";
import { type DumpsOptions, PyDecimal, pyDumps, PyFloat, pyFloatRepr, type PyValue } from "./python_json.ts";

const SENDER = "https://integrating-server.com";
const ENCODED = encodeURIComponent(SENDER);
const ADMIN = "admin-token-for-openspp-signer-0123456789";
const REQUESTS: DumpsOptions = {}; // requests: json.dumps(body) with Python's defaults
const HTTPX: DumpsOptions = { separators: [",", ":"], ensureAscii: false };

/** OpenSPP's DCISigner.sign(header, message), ported: the signature string it puts in the envelope. */
async function opensppSign(
  header: PyValue,
  message: PyValue,
  key: CryptoKey,
  options: { keyId?: string; nowMs?: number; unquoted?: boolean } = {},
): Promise<string> {
  const created = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const expires = created + 300;
  const canonical = pyDumps({ header, message }, { sortKeys: true, separators: [",", ":"] });
  const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)))
    .toString("base64");
  const signingString = `(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`;
  const sig = Buffer.from(await crypto.subtle.sign("Ed25519", key, new TextEncoder().encode(signingString)))
    .toString("base64");
  const kid = `${SENDER}|${options.keyId ?? "k1"}|ed25519`;
  const q = (v: string) => options.unquoted ? v : `"${v}"`;
  return `namespace=${q("dci")}, kidId=${q(kid)}, algorithm=${q("ed25519")}, created=${
    q(String(created))
  }, ` +
    `expires=${q(String(expires))}, headers="(created) (expires) digest", signature=${q(sig)}`;
}

/** A search as an OpenSPP client builds it: a Pydantic header dump (nulls included), floats, non-ASCII. */
function searchParts(): { header: PyValue; message: PyValue } {
  const ts = new Date().toISOString().replace("Z", "123Z"); // microseconds, as Pydantic writes datetimes
  return {
    header: pyHeader(SENDER, ts, {
      sender_uri: null,
      receiver_id: null,
      total_count: 2,
      meta: {
        note: "Zürich — José Ñúñez 😀",
        score: new PyFloat(5),
        threshold: new PyFloat(1e-7),
        amount: new PyDecimal("2.50"),
        ratio: new PyFloat(0.1),
        nested: { a: null, b: [null, { c: null }] },
      },
    }),
    message: {
      transaction_id: crypto.randomUUID(),
      search_request: [{
        reference_id: "ref-uin",
        timestamp: ts,
        search_criteria: {
          version: "1.0.0",
          query_type: "idtype-value",
          query: { type: "UIN", value: "TEST-001" },
          pagination: { page_size: new PyFloat(10), page_number: 1 },
        },
      }, {
        reference_id: "ref-groups",
        timestamp: ts,
        search_criteria: {
          query_type: "expression",
          query: {
            type: "ns:org:QueryType:NoSql",
            value: { expression: { collection: "Group", query: { poverty_score: { $lt: new PyFloat(5) } } } },
          },
        },
      }],
    },
  };
}

interface Partner {
  server: ServerProcess;
  token: string;
  key: CryptoKey;
}

/** A real server with a demo registry; the partner registered by the CLI, its client made by the admin API. */
async function partner(): Promise<Partner> {
  const server = await startServerProcess({
    env: { DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "40", DCI_ADMIN_TOKEN: ADMIN },
  });
  await server.waitForLog((l) => l.msg === "demo registry seeded");
  const pair = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey)).toString("base64");
  const pemFile = `${server.dataDir}/partner.pem`;
  await Deno.writeTextFile(pemFile, `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`);
  const env = { DCI_DATA_DIR: server.dataDir };
  for (
    const args of [["sender", "add", SENDER, "--name", "Integrating server"], [
      "sender",
      "key",
      "add",
      SENDER,
      "k1",
      "--file",
      pemFile,
    ]]
  ) {
    const r = await runCliProcess(args, env);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal((await admin(server, "GET", `/senders/${ENCODED}`)).body.sender_id, SENDER);
  const client = await admin(server, "POST", "/clients", { sender_id: SENDER, scopes: ["registry.search"] });
  assert.equal(client.status, 201, JSON.stringify(client.body));
  const token = await fetchToken(server.url, client.body.client_id, client.body.client_secret);
  return { server, token, key: pair.privateKey };
}

async function admin(server: ServerProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function syncSearch(p: Partner, body: string) {
  const res = await fetch(`${p.server.url}/registry/sync/search`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${p.token}` },
    body,
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("pyDumps() writes what CPython's json.dumps writes (floats, escapes, key order)", () => {
  const reprs: Array<[number, string]> = [
    [5, "5.0"],
    [1e-7, "1e-07"],
    [2.5, "2.5"],
    [0.1, "0.1"],
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [1.5e-5, "1.5e-05"],
    [0.0001, "0.0001"],
    [-0, "-0.0"],
    [1e22, "1e+22"],
    [123.456, "123.456"],
    [12345678901234567, "1.2345678901234568e+16"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [0.30000000000000004, "0.30000000000000004"],
  ];
  for (const [x, repr] of reprs) assert.equal(pyFloatRepr(x), repr, String(x));
  const value = { b: [new PyFloat(5), null, { z: null }], a: 'é😀\x7f\n"\\\u0001', "\uffff": 1, "😀": 2 };
  // Python sorts keys by code point: U+FFFF before U+1F600 (JavaScript's sort() puts the surrogate pair first).
  assert.equal(
    pyDumps(value, { sortKeys: true, separators: [",", ":"] }),
    '{"a":"\\u00e9\\ud83d\\ude00\\u007f\\n\\"\\\\\\u0001","b":[5.0,null,{"z":null}],"\\uffff":1,"\\ud83d\\ude00":2}',
  );
  assert.equal(pyDumps({ a: 1, b: [1, new PyDecimal("2.50")] }), '{"a": 1, "b": [1, 2.50]}');
  assert.equal(pyDumps({ s: "é\x7f" }, HTTPX), '{"s":"é\x7f"}');
});

Deno.test("e2e: OpenSPP-signed searches (floats, non-ASCII, nulls) verify on the real server; one changed byte fails", async () => {
  const p = await partner();
  try {
    for (const wire of [REQUESTS, HTTPX]) {
      const { header, message } = searchParts();
      const signature = await opensppSign(header, message, p.key);
      const body = pyDumps({ signature, header, message }, wire);
      const r = await syncSearch(p, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [byUin, groups] = r.body.message.search_response;
      assert.equal(byUin.status, "succ");
      assert.equal(byUin.data.reg_records.length, 1);
      assert.equal(byUin.data.reg_records[0].identifier[0].identifier_value, "TEST-001");
      assert.equal(groups.status, "succ", JSON.stringify(groups));
      assert.equal(r.body.header.receiver_id, SENDER);
    }
    const { header, message } = searchParts();
    const body = pyDumps({ signature: await opensppSign(header, message, p.key), header, message }, REQUESTS);
    assert.match(body, /"score": 5\.0, "threshold": 1e-07, "amount": 2\.50, "ratio": 0\.1/);
    for (
      const [from, to] of [["2.50", "2.51"], ["1e-07", "1e-08"], ["TEST-001", "TEST-002"], ["\\u00fc", "u"]]
    ) {
      const changed = body.replace(from, to);
      assert.equal(changed.length - body.length, to.length - from.length);
      const r = await syncSearch(p, changed);
      assert.equal(r.status, 401, `${from} → ${to}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.message.error.code, "err.signature.invalid");
    }
    // Unchanged, it still verifies (the refusals above consumed no message id).
    assert.equal((await syncSearch(p, body)).status, 200);
  } finally {
    await p.server.stop();
  }
});

Deno.test("e2e: unquoted signature parameters and a kidId naming an unregistered key verify; a second key ends the fallback", async () => {
  const p = await partner();
  try {
    const send = async (options: { keyId?: string; unquoted?: boolean }) => {
      const { header, message } = searchParts();
      const signature = await opensppSign(header, message, p.key, options);
      return await syncSearch(p, pyDumps({ signature, header, message }, REQUESTS));
    };
    const bare = await send({ unquoted: true });
    assert.equal(bare.status, 200, JSON.stringify(bare.body));
    const fallback = await send({ keyId: "openspp-signing-key-2024" });
    assert.equal(fallback.status, 200, JSON.stringify(fallback.body));
    const line = await p.server.waitForLog((l) =>
      l.kid_key_id === "openspp-signing-key-2024" && l.msg !== "request"
    );
    assert.deepEqual([line.sender_id, line.key_id], [SENDER, "k1"]);
    // A second ed25519 key, added through the admin API at the URL-encoded sender path.
    const other = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey("jwk", other.publicKey);
    const added = await admin(p.server, "POST", `/senders/${ENCODED}/keys`, { key_id: "k2", jwk });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const refused = await send({ keyId: "openspp-signing-key-2024" });
    assert.equal(refused.status, 401);
    assert.match(refused.body.message.error.message, /key "openspp-signing-key-2024"/);
    assert.equal((await send({ keyId: "k1", unquoted: true })).status, 200);
  } finally {
    await p.server.stop();
  }
});
