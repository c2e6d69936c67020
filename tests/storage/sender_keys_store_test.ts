/** The sender key store and the verification key cache over it, the same contract on both backends. */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { backendTest } from "../helpers/storage.ts";
import { instancesTest, senderDeps } from "../helpers/two_instances.ts";
import { SenderError } from "../../src/senders/errors.ts";
import { addSender, getSender } from "../../src/senders/store.ts";
import { addSenderKey, listSenderKeys, removeSenderKey, senderKeySet } from "../../src/senders/keys.ts";
import { fetchSenderKeys, refreshDueJwks } from "../../src/senders/jwks_fetch.ts";
import { keysStamp } from "../../src/senders/key_store.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { Deps } from "../../src/deps.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const refusedAs = (kind: string, re?: RegExp) => (e: unknown) =>
  e instanceof SenderError && e.kind === kind && (!re || re.test(e.message));
const jwk = () => JSON.stringify(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }));
const pem = () => generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string;
const sender = (s: Storage, id: string, extra: Record<string, string | number | null> = {}) =>
  s.senders.insert(id, { name: id, created_at: NOW, updated_at: NOW, ...extra });
const version = async (s: Storage, id: string) => Number((await s.senders.get(id))!.keys_version);

const URL_P = "https://p.example/jwks";

backendTest(
  "sender key store: add, list and remove bump keys_version; refusals change nothing",
  async (s) => {
    await sender(s, "p");
    const k1 = jwk();
    const row = await s.senderKeys.add("p", { keyId: "k1", alg: "ed25519", jwk: k1, source: "manual" }, NOW);
    deepEqual({ ...row }, {
      sender_id: "p",
      key_id: "k1",
      alg: "ed25519",
      public_jwk: k1,
      source: "manual",
      active: 1,
      created_at: NOW,
    });
    equal(await version(s, "p"), 1);
    await rejects(
      () => s.senderKeys.add("p", { keyId: "k1", alg: "ed25519", jwk: jwk(), source: "manual" }, NOW),
      refusedAs("conflict", /already has key "k1"/),
    );
    await rejects(
      () => s.senderKeys.add("nobody", { keyId: "k1", alg: "ed25519", jwk: k1, source: "manual" }, NOW),
      refusedAs("not_found", /sender "nobody" does not exist/),
    );
    equal(await version(s, "p"), 1);
    const later = "2026-01-01T00:00:01.000Z";
    await s.senderKeys.add("p", { keyId: "K0", alg: "ed25519", jwk: jwk(), source: "jwks" }, later);
    await s.senderKeys.add("p", { keyId: "_a", alg: "ed25519", jwk: jwk(), source: "manual" }, NOW);
    // By created_at, then key id in binary order ("_" after "K"... and before lower case).
    deepEqual((await s.senderKeys.list("p")).map((k) => k.key_id), ["_a", "k1", "K0"]);
    await s.senderKeys.remove("p", "k1", later);
    await rejects(() => s.senderKeys.remove("p", "k1", later), refusedAs("not_found", /has no key "k1"/));
    equal(await version(s, "p"), 4);
    deepEqual(await s.senderKeys.list("nobody"), []);
  },
);

backendTest("sender key store: active keys come with their version in one read", async (s) => {
  equal(await s.senderKeys.active("nobody"), undefined);
  await sender(s, "p");
  deepEqual(await s.senderKeys.active("p"), { stamp: keysStamp(NOW, 0), keys: [] });
  const k = jwk();
  await s.senderKeys.add("p", { keyId: "k1", alg: "ed25519", jwk: k, source: "manual" }, NOW);
  await s.senderKeys.add("p", { keyId: "k2", alg: "ed25519", jwk: jwk(), source: "manual" }, NOW);
  await s.senderKeys.remove("p", "k2", NOW);
  deepEqual(await s.senderKeys.active("p"), {
    stamp: keysStamp(NOW, 3),
    keys: [{ key_id: "k1", alg: "ed25519", public_jwk: k }],
  });
});

backendTest(
  "sender key store: a JWKS fetch replaces only jwks keys; a failure records the error alone; one that began before the last recorded records nothing",
  async (s) => {
    await sender(s, "p", { jwks_url: URL_P });
    const manual = jwk();
    await s.senderKeys.add("p", { keyId: "m", alg: "ed25519", jwk: manual, source: "manual" }, NOW);
    await s.senderKeys.add("p", { keyId: "old", alg: "ed25519", jwk: jwk(), source: "jwks" }, NOW);
    const t1 = "2026-01-01T01:00:00.000Z";
    await s.senderKeys.recordFetch("p", URL_P, {
      ok: true,
      keys: [{ keyId: "m", alg: "ed25519", jwk: jwk() }, { keyId: "new", alg: "ed25519", jwk: jwk() }],
    }, t1);
    const keys = await s.senderKeys.list("p");
    deepEqual(keys.map((k) => [k.key_id, k.source]), [["m", "manual"], ["new", "jwks"]]);
    equal(keys[0].public_jwk, manual, "the manual key of the same id is kept");
    let row = (await s.senders.get("p"))!;
    deepEqual([row.jwks_fetched_at, row.jwks_fetch_status, row.jwks_fetch_error, row.keys_version], [
      t1,
      "ok",
      null,
      3,
    ]);

    const t2 = "2026-01-01T02:00:00.000Z";
    await s.senderKeys.recordFetch("p", URL_P, { ok: false, error: "x".repeat(900) }, t2);
    row = (await s.senders.get("p"))!;
    deepEqual([row.jwks_fetched_at, row.jwks_fetch_status, row.keys_version], [t2, "error", 3]);
    equal(String(row.jwks_fetch_error).length, 500);
    equal((await s.senderKeys.list("p")).length, 2);
    // A fetch that began before the one recorded at t2 and ends after it records nothing (its document is older).
    await s.senderKeys.recordFetch(
      "p",
      URL_P,
      {
        ok: true,
        keys: [{ keyId: "withdrawn", alg: "ed25519", jwk: jwk() }],
      },
      "2026-01-01T03:00:00.000Z",
      "2026-01-01T01:30:00.000Z",
    );
    deepEqual((await s.senderKeys.list("p")).map((k) => k.key_id), ["m", "new"]);
    equal((await s.senders.get("p"))!.jwks_fetched_at, t2);
    await rejects(
      () => s.senderKeys.recordFetch("nobody", URL_P, { ok: true, keys: [] }, t2),
      refusedAs("not_found"),
    );
  },
);

backendTest(
  "sender key store: a changed or cleared jwks_url drops the keys fetched from the old one; a fetch of a URL no longer the sender's records nothing; a fetched key is not removed by hand",
  async (s) => {
    await sender(s, "p", { jwks_url: URL_P });
    await s.senderKeys.add("p", { keyId: "m", alg: "ed25519", jwk: jwk(), source: "manual" }, NOW);
    const t1 = "2026-01-01T01:00:00.000Z";
    await s.senderKeys.recordFetch("p", URL_P, {
      ok: true,
      keys: [{ keyId: "f", alg: "ed25519", jwk: jwk() }],
    }, t1);
    await rejects(() => s.senderKeys.remove("p", "f", t1), (e) => {
      ok(e instanceof SenderError && e.kind === "conflict", String(e));
      match(e.message, /fetched from its jwks_url.*change or clear the sender's jwks_url/s);
      return true;
    });
    const before = Number((await s.senders.get("p"))!.keys_version);

    // The same URL written again changes nothing.
    await s.senders.update("p", { jwks_url: URL_P, updated_at: t1 });
    deepEqual((await s.senderKeys.list("p")).map((k) => k.key_id), ["m", "f"]);

    const t2 = "2026-01-01T02:00:00.000Z";
    const moved = await s.senders.update("p", { jwks_url: "https://new.example/jwks", updated_at: t2 });
    deepEqual((await s.senderKeys.list("p")).map((k) => [k.key_id, k.source]), [["m", "manual"]]);
    deepEqual([moved!.jwks_fetched_at, moved!.jwks_fetch_status, Number(moved!.keys_version) > before], [
      null,
      null,
      true,
    ]);
    deepEqual(await s.senderKeys.dueForRefresh(t2), ["p"], "the new URL is fetched at the next refresh");
    // A fetch of the old URL that was under way when it changed: its keys do not come back.
    await s.senderKeys.recordFetch("p", URL_P, {
      ok: true,
      keys: [{ keyId: "f", alg: "ed25519", jwk: jwk() }],
    }, t2);
    deepEqual((await s.senderKeys.list("p")).map((k) => k.key_id), ["m"]);
    equal((await s.senders.get("p"))!.jwks_fetched_at, null);

    await s.senderKeys.recordFetch("p", "https://new.example/jwks", {
      ok: true,
      keys: [{ keyId: "g", alg: "ed25519", jwk: jwk() }],
    }, t2);
    deepEqual((await s.senderKeys.list("p")).map((k) => k.key_id).sort(), ["g", "m"]);
    await s.senders.update("p", { jwks_url: null, updated_at: t2 });
    deepEqual((await s.senderKeys.list("p")).map((k) => k.key_id), ["m"], "cleared: no fetched key stays");
  },
);

backendTest(
  "sender key store: due refreshes are enabled senders with a JWKS URL fetched before the cutoff",
  async (s) => {
    await sender(s, "never", { jwks_url: "https://a.example/j" });
    await sender(s, "Old", { jwks_url: "https://a.example/j" });
    await sender(s, "fresh", { jwks_url: "https://a.example/j" });
    await s.senderKeys.recordFetch(
      "Old",
      "https://a.example/j",
      { ok: false, error: "e" },
      "2026-01-01T00:00:00.000Z",
    );
    await s.senderKeys.recordFetch(
      "fresh",
      "https://a.example/j",
      { ok: true, keys: [] },
      "2026-01-01T06:00:00.000Z",
    );
    await sender(s, "off", { jwks_url: "https://a.example/j", active: 0 });
    await sender(s, "manual");
    deepEqual(await s.senderKeys.dueForRefresh("2026-01-01T05:00:00.000Z"), ["Old", "never"]);
  },
);

backendTest("sender key services: keys added by PEM or JWK, listed as JWK, removed", async (s) => {
  const deps = senderDeps(s);
  await addSender(deps, "p", {});
  const key = await addSenderKey(deps, "p", { keyId: "k1", material: pem() });
  equal(key.alg, "ed25519");
  equal(key.active, true);
  equal(key.source, "manual");
  equal((key.jwk as { kty: string }).kty, "OKP");
  deepEqual(await listSenderKeys(deps, "p"), [key]);
  await rejects(() => addSenderKey(deps, "p", { keyId: "k1", material: pem() }), refusedAs("conflict"));
  await rejects(() => addSenderKey(deps, "p", { keyId: "bad id", material: pem() }), refusedAs("invalid"));
  await removeSenderKey(deps, "p", "k1");
  deepEqual(await listSenderKeys(deps, "p"), []);
});

/** The stamp the bearer check would read (creation time and version), then the key set the cache answers with. */
async function keysAt(deps: Deps, reader: Storage, senderId: string) {
  return [...(await senderKeySet(deps, senderId, await stampOf(reader, senderId))).keys()];
}

async function stampOf(reader: Storage, senderId: string): Promise<string> {
  const row = await reader.senders.get(senderId);
  return keysStamp(String(row?.created_at), Number(row?.keys_version ?? 0));
}

instancesTest(
  "key cache: a key change by another instance applies at the next request; unchanged, no re-import",
  async (t) => {
    const a = senderDeps(t.a);
    const b = senderDeps(t.b);
    await addSender(b, "p", {});
    await addSenderKey(b, "p", { keyId: "k1", material: pem() });
    const imports = () => a.metrics.render().match(/dci_sender_key_imports_total (\d+)/)?.[1];
    deepEqual(await keysAt(a, t.a, "p"), ["k1"]);
    deepEqual(await keysAt(a, t.a, "p"), ["k1"]);
    equal(imports(), "1", "the second request is served from the cache");
    // Instance b rotates the key: a's next request reads the new version with the sender row and re-imports.
    await addSenderKey(b, "p", { keyId: "k2", material: pem() });
    await removeSenderKey(b, "p", "k1");
    deepEqual(await keysAt(a, t.a, "p"), ["k2"]);
    equal(imports(), "2");
    // A request that read the version before a change, served after it, gets the newer keys (never older ones),
    // and the cache keeps them under their own version.
    const row = (await t.a.senders.get("p"))!;
    const stale = keysStamp(String(row.created_at), Number(row.keys_version) - 1);
    await addSenderKey(b, "p", { keyId: "k3", material: pem() });
    deepEqual([...(await senderKeySet(a, "p", stale)).keys()].sort(), ["k2", "k3"]);
    deepEqual(await keysAt(a, t.a, "p"), ["k2", "k3"]);
    equal(imports(), "3", "the version read with the keys labels them");
    // A deleted sender has no keys.
    await t.b.senders.delete("p", "r", NOW);
    deepEqual([...(await senderKeySet(a, "p", "gone")).keys()], []);
  },
);

instancesTest(
  "key cache: a sender deleted and created again under its id never gets the old sender's keys",
  async (t) => {
    const a = senderDeps(t.a);
    const b = senderDeps(t.b);
    await addSender(b, "p", {});
    await addSenderKey(b, "p", { keyId: "old", material: pem() });
    deepEqual(await keysAt(a, t.a, "p"), ["old"], "instance a caches the old sender's key at version 1");
    await t.b.senders.delete("p", "offboarded", NOW);
    // The new sender under the same id: created a moment later, its version counts from 0 again and reaches 1.
    const later = senderDeps(t.b, Date.parse(NOW) + 1000);
    await addSender(later, "p", {});
    await addSenderKey(later, "p", { keyId: "new", material: pem() });
    equal(Number((await t.a.senders.get("p"))!.keys_version), 1);
    deepEqual(await keysAt(a, t.a, "p"), ["new"]);
  },
);

instancesTest(
  "sender key store: two instances adding keys to one sender at once lose no version bump",
  async (t) => {
    await sender(t.a, "p");
    const adds = [];
    for (let i = 0; i < 6; i++) {
      const s = i % 2 ? t.a : t.b;
      adds.push(s.senderKeys.add("p", { keyId: `k${i}`, alg: "ed25519", jwk: jwk(), source: "manual" }, NOW));
    }
    await Promise.all(adds);
    equal(await version(t.a, "p"), 6);
    deepEqual((await t.b.senderKeys.active("p"))!.keys.length, 6);
  },
);

instancesTest(
  "JWKS services: fetch stores the document's keys; the scheduled refresh visits due senders",
  async (t) => {
    const a = senderDeps(t.a, Date.parse("2026-01-01T12:00:00Z"));
    const doc = { keys: [{ ...JSON.parse(jwk()), kid: "p|j1|ed25519" }] };
    const asked: string[] = [];
    (a as { http?: unknown }).http = {
      request: (url: string) => {
        asked.push(url);
        return Promise.resolve({ status: 200, text: () => JSON.stringify(doc) });
      },
    };
    await addSender(a, "p", { jwks_url: "https://p.example/jwks" });
    await addSender(a, "q", {});
    deepEqual(await fetchSenderKeys(a, "p"), { ok: true, keys: 1 });
    deepEqual((await listSenderKeys(senderDeps(t.b), "p")).map((k) => [k.key_id, k.source]), [[
      "j1",
      "jwks",
    ]]);
    equal((await getSender(a, "p"))!.jwks_fetch_status, "ok");
    await rejects(() => fetchSenderKeys(a, "q"), refusedAs("invalid", /no jwks_url/));
    equal(await refreshDueJwks(a), 0, "fetched just now");
    a.clock.advance(a.config.jwksRefreshMinutes * 60_000);
    equal(await refreshDueJwks(a), 1);
    deepEqual(asked, ["https://p.example/jwks", "https://p.example/jwks"]);
    ok((await t.b.senders.get("p"))!.jwks_fetched_at);
  },
);
