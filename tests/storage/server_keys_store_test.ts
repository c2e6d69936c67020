/**
 * The server key store, through ServerKeys (the signer cached, signing synchronous), the same contract on both
 * backends; and sealing stored secrets with the key-encryption keys.
 */
import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { backendSqlTest } from "../helpers/storage.ts";
import { fakeClock } from "../../src/clock.ts";
import type { Storage } from "../../src/db/storage.ts";
import { KeyError, ServerKeys } from "../../src/keys/server_keys.ts";
import {
  isSealed,
  type KeyEncryption,
  KeyEncryptionError,
  parseKek,
  sealedWith,
} from "../../src/keys/kek.ts";

const KEK_A = parseKek(Buffer.alloc(32, 1).toString("base64"), "A");
const KEK_B = parseKek(Buffer.alloc(32, 2).toString("base64"), "B");

function keysOf(s: Storage, clock = fakeClock(), encryption: KeyEncryption = {}) {
  return { keys: new ServerKeys(s.serverKeys, "dci-test", clock, encryption), clock };
}

/** Lets I/O already started (a background re-read of the signer) finish: waits on events, not on time. */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 0));
}

backendSqlTest(
  "server keys: the first key is created once, and signing reads it from the cache",
  async (s) => {
    const { keys } = keysOf(s);
    throws(() => keys.active(), KeyError);
    equal(await keys.ensureActive(), true);
    equal(await keys.ensureActive(), false);
    const signer = keys.active();
    equal(signer.alg, "ed25519");
    equal(signer.kid, `dci-test|${signer.keyId}|ed25519`);
    const [info] = await keys.list();
    deepEqual(info, {
      key_id: signer.keyId,
      alg: "ed25519",
      kid: signer.kid,
      status: "active",
      created_at: "2026-01-01T00:00:00.000Z",
      retired_at: null,
    });
    const jwks = (await keys.jwks()).keys;
    deepEqual(jwks.map((k) => [k.kid, k.kty, k.crv, k.alg, k.use]), [[
      signer.kid,
      "OKP",
      "Ed25519",
      "EdDSA",
      "sig",
    ]]);
    equal(jwks[0].x, signer.publicKey.export({ format: "jwk" }).x);
  },
);

backendSqlTest(
  "server keys: rotation publishes both, newest first; retiring refuses the signer and unknown keys",
  async (s) => {
    const { keys, clock } = keysOf(s);
    await keys.ensureActive();
    const first = keys.active();
    clock.advance(60_000);
    const second = await keys.rotate("rsa-sha256");
    equal(keys.active().keyId, second.key_id, "a rotation here applies at once");
    deepEqual((await keys.list()).map((k) => [k.key_id, k.status]), [
      [second.key_id, "active"],
      [first.keyId, "published"],
    ]);
    const jwks = (await keys.jwks()).keys;
    deepEqual(jwks.map((k) => k.kid), [second.kid, first.kid]);
    ok(jwks[0].n && jwks[0].e && jwks[0].alg === "RS256");

    await rejects(keys.retire(second.key_id), KeyError);
    await rejects(keys.retire("nope"), KeyError);
    clock.advance(1000);
    const retired = await keys.retire(first.keyId);
    equal(retired.status, "retired");
    equal(retired.retired_at, new Date(clock.now()).toISOString());
    await rejects(keys.retire(first.keyId), /already retired/);
    deepEqual((await keys.jwks()).keys.map((k) => k.kid), [second.kid]);
    equal((await keys.list()).length, 2);
    ok(!/private|"d":/.test(JSON.stringify([await keys.jwks(), await keys.list()])), "no private material");
  },
);

backendSqlTest(
  "server keys: a verification key is ours, of its alg, and not retired, read on every use",
  async (s) => {
    const { keys } = keysOf(s);
    await keys.ensureActive();
    const first = keys.active();
    const found = await keys.verificationKey(first.kid);
    equal(found?.keyId, first.keyId);
    equal(found?.key.export({ format: "jwk" }).x, first.publicKey.export({ format: "jwk" }).x);
    equal(await keys.verificationKey(`other-server|${first.keyId}|ed25519`), undefined);
    equal(await keys.verificationKey(`dci-test|${first.keyId}|rsa-sha256`), undefined);
    equal(await keys.verificationKey(`dci-test|${first.keyId}|ed25519|x`), undefined);
    equal(await keys.verificationKey("dci-test|' OR '1'='1|ed25519"), undefined);
    await keys.rotate();
    ok(await keys.verificationKey(first.kid), "published keys still verify");
    await keys.retire(first.keyId);
    equal(await keys.verificationKey(first.kid), undefined);
  },
);

backendSqlTest(
  "server keys: a rotation by another instance reaches this signer within a second, in the background",
  async (s, f) => {
    const clock = fakeClock();
    const here = keysOf(s, clock).keys;
    const there = keysOf(f.twin(), clock).keys;
    await here.ensureActive();
    await there.load();
    const before = here.active().keyId;
    const rotated = await there.rotate();
    equal(here.active().keyId, before, "within the second, the cached signer");
    equal((await here.fresh()).keyId, rotated.key_id, "fresh reads it now");

    const again = await there.rotate();
    clock.advance(1000);
    equal(
      here.active().keyId,
      rotated.key_id,
      "the call that starts the re-read still signs with the cached key",
    );
    await settle(() => here.active().keyId === again.key_id);
    equal(here.active().keyId, again.key_id);
  },
);

backendSqlTest(
  "server keys: instances starting or rotating at once leave exactly one signer",
  async (s, f) => {
    const a = keysOf(s).keys;
    const b = keysOf(f.twin()).keys;
    const created = await Promise.all([a.ensureActive(), b.ensureActive()]);
    deepEqual(created.sort(), [false, true]);
    equal(a.active().keyId, b.active().keyId);
    const [x, y] = await Promise.all([a.rotate(), b.rotate()]);
    notEqual(x.key_id, y.key_id);
    const active = await f.sql.all("SELECT key_id FROM server_keys WHERE status = 'active'");
    equal(active.length, 1);
    ok([x.key_id, y.key_id].includes(active[0].key_id as string));
    equal((await a.list()).filter((k) => k.status === "published").length, 2);
  },
);

backendSqlTest(
  "server keys: sealing follows the key-encryption keys: seal, re-seal, open, and refuse a missing key",
  async (s, f) => {
    const plain = keysOf(s).keys;
    await plain.ensureActive();
    const stored = async () =>
      (await f.sql.all("SELECT private_der FROM server_keys"))[0].private_der as string;
    ok(!isSealed(await stored()));

    deepEqual(await s.serverKeys.sealSecrets({ current: KEK_A }), { sealed: 1, resealed: 0, opened: 0 });
    equal(sealedWith(await stored()), KEK_A.id);
    deepEqual(await s.serverKeys.sealSecrets({ current: KEK_A }), { sealed: 0, resealed: 0, opened: 0 });
    // The sealed key still signs as the same key.
    const sealed = keysOf(s, fakeClock(), { current: KEK_A }).keys;
    await sealed.load();
    equal(sealed.active().keyId, plain.active().keyId);

    const before = await stored();
    await rejects(s.serverKeys.sealSecrets({ current: KEK_B }), KeyEncryptionError);
    equal(await stored(), before, "nothing changed");

    deepEqual(await s.serverKeys.sealSecrets({ current: KEK_B, previous: KEK_A }), {
      sealed: 0,
      resealed: 1,
      opened: 0,
    });
    equal(sealedWith(await stored()), KEK_B.id);
    deepEqual(await s.serverKeys.sealSecrets({ previous: KEK_B }), { sealed: 0, resealed: 0, opened: 1 });
    ok(!isSealed(await stored()));
    const opened = keysOf(s).keys;
    await opened.load();
    equal(opened.active().keyId, plain.active().keyId);
  },
);
