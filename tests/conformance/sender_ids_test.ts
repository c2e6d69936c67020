/**
 * Sender ids as partners write them (issue 12 §3): printable ASCII without whitespace, 1 to 255 characters
 * (`https://integrating-server.com`, `social.example.org`), compared exactly, a case-only twin refused at
 * creation; the admin API (URL-encoded in the path), the CLI, tokens, signed requests, rate limits, logs and the
 * outbound allowlist all take them.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { addSender, getSender, SenderError } from "../../src/senders/store.ts";
import { parseAllowEntry } from "../../src/net/allowlist.ts";
import { createApp } from "../helpers/app.ts";
import { createLogger } from "../../src/obs/log.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { nobodySearch, postApp } from "./support.ts";
import { runCliProcess } from "../helpers/server.ts";

const URL_ID = "https://integrating-server.com";
const ENCODED = encodeURIComponent(URL_ID);
const ADMIN = "admin-token-for-sender-id-tests-0123456789";

Deno.test("addSender() takes any printable ASCII id of 1 to 255 characters and refuses whitespace and the rest", async () => {
  const deps = await testDeps();
  try {
    const good = [
      URL_ID,
      "social.example.org",
      "urn:org:x|y",
      "a".repeat(255),
      "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    ];
    for (const id of good) assert.equal((await addSender(deps, id, {})).sender_id, id);
    const bad = ["", "a b", "tab\tid", "line\nid", "clé", "a".repeat(256), "nul\u0000", "del\x7f"];
    for (const id of bad) {
      await assert.rejects(
        () => addSender(deps, id, {}),
        (e) => e instanceof SenderError && e.kind === "invalid",
        id,
      );
    }
  } finally {
    deps.close();
  }
});

Deno.test("addSender() refuses an id differing from a registered one only by case; lookups stay exact", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, URL_ID, {});
    for (const twin of ["https://Integrating-Server.com", "HTTPS://INTEGRATING-SERVER.COM", URL_ID]) {
      await assert.rejects(
        () => addSender(deps, twin, {}),
        (e) => e instanceof SenderError && e.kind === "conflict" && e.message.includes(`"${URL_ID}"`),
        twin,
      );
    }
    assert.equal(await getSender(deps, "https://Integrating-Server.com"), undefined);
    assert.equal((await getSender(deps, URL_ID))?.sender_id, URL_ID);
  } finally {
    deps.close();
  }
});

Deno.test("admin API: a URL sender id works URL-encoded in every /senders/{id} path", async () => {
  const deps = await testDeps({ adminToken: ADMIN });
  try {
    await deps.storage.adminTokens.ensureEnv(ADMIN); // what start-up does with DCI_ADMIN_TOKEN
    const app = createApp(deps);
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    assert.equal((await admin("POST", "/senders", { sender_id: URL_ID, name: "Integrating" })).status, 201);
    const twin = await admin("POST", "/senders", { sender_id: "https://INTEGRATING-server.com" });
    assert.equal(twin.status, 409);
    assert.match(twin.body.message.error.message, /differs only by case/);
    assert.equal((await admin("POST", "/senders", { sender_id: "has space" })).status, 400);
    assert.equal((await admin("GET", `/senders/${ENCODED}`)).body.sender_id, URL_ID);
    assert.equal((await admin("PATCH", `/senders/${ENCODED}`, { name: "Renamed" })).body.name, "Renamed");
    const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" });
    assert.equal((await admin("POST", `/senders/${ENCODED}/keys`, { key_id: "k1", pem })).status, 201);
    assert.deepEqual(
      (await admin("GET", `/senders/${ENCODED}/keys`)).body.keys.map((k: { key_id: string }) => k.key_id),
      [
        "k1",
      ],
    );
    const client = await admin("POST", "/clients", { sender_id: URL_ID });
    assert.equal(client.status, 201);
    assert.equal(client.body.sender_id, URL_ID);
    assert.equal((await admin("GET", `/clients?sender_id=${ENCODED}`)).body.clients.length, 1);
    assert.equal((await admin("POST", `/senders/${ENCODED}/disable`)).body.active, false);
    assert.equal((await admin("POST", `/senders/${ENCODED}/enable`)).body.active, true);
    assert.equal((await admin("GET", `/subscriptions?sender_id=${ENCODED}`)).status, 200);
    assert.equal((await admin("GET", `/transactions?sender_id=${ENCODED}`)).status, 200);
    assert.equal((await admin("DELETE", `/senders/${ENCODED}/keys/k1`)).status, 204);
    assert.equal((await admin("DELETE", `/senders/${ENCODED}`)).status, 204);
    assert.equal((await admin("GET", `/senders/${ENCODED}`)).status, 404);
  } finally {
    deps.close();
  }
});

Deno.test("a sender with a URL id gets a token, signs a search, is rate-limited and logged under its exact id", async () => {
  const deps = await testDeps();
  try {
    const lines: Record<string, unknown>[] = [];
    deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
    const long = `https://partner.example.org/${"p".repeat(255 - 28)}`;
    assert.equal(long.length, 255);
    const app = createApp(deps);
    for (const id of [URL_ID, long]) {
      const sender = await createTestSender(deps, { senderId: id, name: "Partner", limit_minute: 2 });
      const search = () => postApp(app, sender.headers(), sender.sign(nobodySearch(id, deps.clock.now())));
      const first = await search();
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.header.receiver_id, id);
      assert.equal((await search()).status, 200);
      const limited = await search();
      assert.equal(limited.status, 429);
      assert.ok(limited.body.message.error.message.includes(`Sender "${id}"`));
      const logged = lines.filter((l) => l.msg === "request" && l.sender_id === id).map((l) => l.status);
      assert.deepEqual(logged, [200, 200, 429]);
    }
  } finally {
    deps.close();
  }
});

Deno.test("DCI_OUTBOUND_ALLOW scopes an entry to a URL sender id (split at the last '=')", () => {
  const entry = parseAllowEntry(`${URL_ID}=cb.partner.org:8443`);
  assert.deepEqual([entry.sender, entry.host, entry.port], [URL_ID, "cb.partner.org", 8443]);
  assert.equal(parseAllowEntry("urn:a=b=10.0.0.0/8").sender, "urn:a=b");
  assert.throws(() => parseAllowEntry("has space=cb.partner.org"), /sender id/);
});

Deno.test("CLI: sender add/show/key add/client create/list take a URL sender id; a case twin exits 1", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-sender-ids-" });
  const env = { DCI_DATA_DIR: dataDir };
  try {
    assert.equal((await runCliProcess(["migrate"], env)).code, 0);
    const add = await runCliProcess(["sender", "add", URL_ID, "--name", "Integrating server", "--json"], env);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(JSON.parse(add.stdout).sender_id, URL_ID);
    const twin = await runCliProcess(["sender", "add", "https://Integrating-Server.com"], env);
    assert.equal(twin.code, 1);
    assert.match(
      twin.stderr,
      /differs only by case from the existing sender "https:\/\/integrating-server.com"/,
    );
    const pemFile = `${dataDir}/k.pem`;
    await Deno.writeTextFile(
      pemFile,
      generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string,
    );
    const key = await runCliProcess(["sender", "key", "add", URL_ID, "k1", "--file", pemFile], env);
    assert.equal(key.code, 0, key.stderr);
    const client = await runCliProcess(["client", "create", "--sender", URL_ID], env);
    assert.equal(client.code, 0, client.stderr);
    const show = JSON.parse((await runCliProcess(["sender", "show", URL_ID, "--json"], env)).stdout);
    assert.deepEqual([show.sender_id, show.keys[0].key_id], [URL_ID, "k1"]);
    assert.match(
      (await runCliProcess(["client", "list", "--sender", URL_ID], env)).stdout,
      /integrating-server\.com/,
    );
    assert.match((await runCliProcess(["sender", "list"], env)).stdout, /https:\/\/integrating-server\.com/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
