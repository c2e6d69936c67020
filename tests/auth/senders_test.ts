import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { testDeps } from "../helpers/deps.ts";
import { addSender, getSender, SenderError, updateSender } from "../../src/senders/store.ts";
import { addSenderKey, listSenderKeys } from "../../src/senders/keys.ts";
import { fetchSenderKeys, refreshDueJwks } from "../../src/senders/jwks_fetch.ts";
import { createClient } from "../../src/senders/clients.ts";
import { createApp } from "../helpers/app.ts";
import { AUTH_SCHEDULES } from "../../src/senders/jobs.ts";

async function throwsSender(fn: () => Promise<unknown>, kind: string, re?: RegExp) {
  await assert.rejects(
    fn,
    (e: unknown) => e instanceof SenderError && e.kind === kind && (!re || re.test(e.message)),
  );
}

Deno.test("senders: bad ids, duplicates and bad keys are refused and change nothing", async () => {
  const deps = await testDeps();
  try {
    await throwsSender(() => addSender(deps, "bad id", {}), "invalid");
    await throwsSender(() => addSender(deps, "x".repeat(256), {}), "invalid");
    await addSender(deps, "s1", { name: "One", limit_minute: 5 });
    await throwsSender(() => addSender(deps, "s1", {}), "conflict");
    await throwsSender(() => updateSender(deps, "s1", { jwks_url: "ftp://x" }), "invalid");
    assert.equal((await getSender(deps, "s1"))!.limit_minute, 5);
    assert.equal((await getSender(deps, "s1"))!.limit_day, 10000);
    await throwsSender(
      () =>
        addSenderKey(deps, "s1", {
          keyId: "k",
          material: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        }),
      "invalid",
    );
    await throwsSender(
      () => addSenderKey(deps, "s1", { keyId: "k", material: { kty: "OKP", crv: "Ed25519" } }),
      "invalid",
    );
    const priv = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) as Record<
      string,
      unknown
    >;
    await throwsSender(() => addSenderKey(deps, "s1", { keyId: "k", material: priv }), "invalid", /private/);
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      format: "pem",
      type: "spki",
    });
    await throwsSender(
      () => addSenderKey(deps, "s1", { keyId: "k", material: small as string }),
      "invalid",
      /2048/,
    );
    const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string;
    await throwsSender(
      () => addSenderKey(deps, "s1", { keyId: "k", material: ed, alg: "rsa-sha256" }),
      "invalid",
    );
    assert.equal((await listSenderKeys(deps, "s1")).length, 0);
    assert.equal((await getSender(deps, "s1"))!.keys_version, 0);
    await addSenderKey(deps, "s1", { keyId: "k", material: ed });
    await throwsSender(() => addSenderKey(deps, "s1", { keyId: "k", material: ed }), "conflict");
    assert.equal((await getSender(deps, "s1"))!.keys_version, 1);
  } finally {
    deps.close();
  }
});

Deno.test("senders: a URL every delivery would refuse is refused when set, without repeating it; the default name fits the name rule", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, "s1", {});
    for (
      const [field, url] of [
        ["callback_base_url", "https://user:pa55word@partner.example/dci"],
        ["jwks_url", "https://user:pa55word@partner.example/jwks.json"],
        ["callback_base_url", `https://partner.example/${"a".repeat(2048)}`],
      ] as const
    ) {
      await assert.rejects(
        () => updateSender(deps, "s1", { [field]: url }),
        (e: unknown) =>
          e instanceof SenderError && e.kind === "invalid" && e.message.startsWith(field) &&
          /without a user name or password/.test(e.message) && !e.message.includes("pa55word"),
        `${field} ${url.slice(0, 60)}`,
      );
    }
    assert.equal((await getSender(deps, "s1"))!.callback_base_url, null);
    // An id of 230 characters (up to 255 are allowed): its default name is cut to the name's 200.
    const long = `https://integrating-server.example/${"p".repeat(195)}`;
    const sender = await addSender(deps, long, {});
    assert.equal(sender.name, long.slice(0, 200));
    await updateSender(deps, long, { limit_day: 5 }); // a later update (the console's form) passes the rule
  } finally {
    deps.close();
  }
});

Deno.test("JWKS fetch: a huge or non-JSON answer fails and keeps the old keys; a private URL is refused; a new URL is fetched at the next refresh", async () => {
  const good = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  let answer = "keys";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    if (answer === "huge") return new Response("x".repeat(300_000));
    if (answer === "html") return new Response("<html>");
    return Response.json({ keys: [{ ...good, kid: "j1" }] });
  });
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/jwks`;
    await addSender(deps, "s1", { jwks_url: url });
    assert.deepEqual(await fetchSenderKeys(deps, "s1"), { ok: true, keys: 1 });
    for (const [mode, re] of [["huge", /too_large/], ["html", /not JSON/]] as const) {
      answer = mode;
      const out = await fetchSenderKeys(deps, "s1");
      assert.equal(out.ok, false);
      assert.match((out as { error: string }).error, re);
      assert.equal((await getSender(deps, "s1"))!.jwks_fetch_status, "error");
      assert.deepEqual((await listSenderKeys(deps, "s1")).map((k) => k.key_id), ["j1"]);
    }
    answer = "keys";
    // Refused (loopback, not allowlisted); on this machine were it let through. The old URL's key went with it.
    await updateSender(deps, "s1", { jwks_url: "https://127.0.0.2/jwks" });
    const out = await fetchSenderKeys(deps, "s1");
    assert.match((out as { error: string }).error, /blocked/);
    assert.deepEqual(await listSenderKeys(deps, "s1"), []);
    // A new URL is fetched at the next refresh; then again only once its last fetch is older than the setting.
    await updateSender(deps, "s1", { jwks_url: url });
    assert.equal(await refreshDueJwks(deps), 1);
    assert.equal((await getSender(deps, "s1"))!.jwks_fetch_status, "ok");
    assert.equal(await refreshDueJwks(deps), 0);
    deps.clock.advance(61 * 60_000);
    assert.equal(await refreshDueJwks(deps), 1);
    assert.deepEqual((await listSenderKeys(deps, "s1")).map((k) => k.key_id), ["j1"]);
  } finally {
    deps.close();
    await server.shutdown();
  }
});

Deno.test("token endpoint: per-IP limit answers 429 with Retry-After before checking secrets", async () => {
  const deps = await testDeps({ tokenIpLimitPerMinute: "2" });
  try {
    await addSender(deps, "s1", {});
    const { client, clientSecret } = await createClient(deps, "s1", { scopes: ["registry.search"] });
    const app = createApp(deps);
    const ask = () =>
      app.request("/oauth2/client/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: client.client_id,
          client_secret: clientSecret,
        }),
      });
    assert.equal((await ask()).status, 200);
    assert.equal((await ask()).status, 200);
    const limited = await ask();
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    const missing = await app.request("/oauth2/client/token", { method: "POST", body: "" });
    assert.equal(missing.status, 429);
  } finally {
    deps.close();
  }
});

Deno.test("jobs: replay and bucket purge, and the midnight reset of day counters", async () => {
  const deps = await testDeps({}, { now: Date.parse("2026-05-01T12:00:00Z") });
  try {
    await addSender(deps, "s1", {});
    // One admitted request: its message id recorded, its minute bucket and day counter counted.
    const admitted = await deps.storage.limits.admit(
      { senderId: "s1", limits: { minute: 10, day: 10 }, messageId: "m1", replayWindowMs: 600_000 },
      deps.clock.now(),
    );
    assert.ok("decision" in admitted && admitted.decision.allowed, JSON.stringify(admitted));
    const count = async (t: string) => Number((await deps.sql(`SELECT COUNT(*) AS n FROM ${t}`))[0].n);
    const run = (name: string) => AUTH_SCHEDULES.find((s) => s.name === name)!.run(deps);
    await run("auth-purge");
    assert.equal(await count("replay_guard"), 1);
    assert.equal(await count("rate_buckets"), 1);
    deps.clock.advance(601_000);
    await run("auth-purge");
    assert.equal(await count("replay_guard"), 0);
    assert.equal(await count("rate_buckets"), 0);
    await run("rate-day-reset");
    assert.equal(await count("rate_days"), 1);
    deps.clock.advance(12 * 3600_000);
    await run("rate-day-reset");
    assert.equal(await count("rate_days"), 0);
  } finally {
    deps.close();
  }
});

Deno.test("token endpoint: a client id holding a control character (NUL among them) is an unknown client, 401 invalid_client", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, "s1", {});
    const { client, clientSecret } = await createClient(deps, "s1", { scopes: ["registry.search"] });
    const app = createApp(deps);
    for (const id of [`${client.client_id}\u0000`, "a\u0000", `${client.client_id}\n`]) {
      const res = await app.request("/oauth2/client/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: id,
          client_secret: clientSecret,
        }),
      });
      assert.equal(res.status, 401, JSON.stringify(id));
      assert.equal((await res.json()).error, "invalid_client");
    }
  } finally {
    deps.close();
  }
});
