/**
 * The server key store, through ServerKeys (the signer cached, signing synchronous), the same contract on both
 * backends; and sealing stored secrets with the key-encryption keys.
 */
import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { backendSqlTest } from "../helpers/storage.ts";
import { fakeClock } from "../../src/clock.ts";
import { createLogger } from "../../src/obs/log.ts";
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
      signs_from: "2026-01-01T00:00:00.000Z",
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
  "server keys: a rotation publishes the new key first; it signs once its time has come, in every instance",
  async (s, f) => {
    const clock = fakeClock();
    const here = new ServerKeys(s.serverKeys, "dci-test", clock, {}, { publishSeconds: 600 });
    const there = new ServerKeys(f.twin().serverKeys, "dci-test", clock, {}, { publishSeconds: 600 });
    await here.ensureActive();
    await there.load();
    const first = here.active();
    const next = await here.rotate();
    deepEqual([next.status, next.signs_from], ["next", "2026-01-01T00:10:00.000Z"]);
    equal(here.active().keyId, first.keyId, "the old key signs on");
    equal((await here.fresh()).keyId, first.keyId, "and signs access tokens");
    // Published at once (JWKS, verification), so partners that fetch it now know it before it signs; the signer
    // stays first in the JWKS (a partner that takes the first key rather than the kid's still verifies).
    deepEqual((await there.jwks()).keys.map((k) => k.kid), [first.kid, next.kid]);
    ok(await there.verificationKey(next.kid));
    // One waits at a time: another rotation is refused, naming it.
    await rejects(here.rotate(), new RegExp(`"${next.key_id}" already waits to sign`));

    clock.advance(600_000 - 1);
    equal((await there.fresh()).keyId, first.keyId);
    clock.advance(1);
    // Whichever instance reads first makes it the signer; the other's next background read sees it.
    equal((await there.fresh()).keyId, next.key_id);
    deepEqual((await here.list()).map((k) => [k.key_id, k.status, k.signs_from]), [
      [next.key_id, "active", "2026-01-01T00:10:00.000Z"],
      [first.keyId, "published", "2026-01-01T00:00:00.000Z"],
    ]);
    // A retirement of the key read as waiting that lands after its promotion is refused, not a signer retired.
    equal(await s.serverKeys.retire(next.key_id, "2026-01-01T00:10:00.001Z"), false);
    equal((await here.info(next.key_id))?.status, "active");
    clock.advance(1000);
    here.active();
    await settle(() => here.active().keyId === next.key_id);
    equal(here.active().keyId, next.key_id);
  },
);

backendSqlTest(
  "server keys: rotate --now signs at once and retires a key still waiting; a waiting key can be retired",
  async (s) => {
    const clock = fakeClock();
    const keys = new ServerKeys(s.serverKeys, "dci-test", clock, {}, { publishSeconds: 600 });
    await keys.ensureActive();
    const first = keys.active();
    const waiting = await keys.rotate();
    const now = await keys.rotate("rsa-sha256", { now: true });
    equal(now.status, "active");
    equal(keys.active().keyId, now.key_id);
    equal((await keys.info(waiting.key_id))?.status, "retired", "the waiting key never signs");
    deepEqual((await keys.jwks()).keys.map((k) => k.kid), [now.kid, first.kid]);
    // A waiting key retired by hand is dropped the same way: no promotion later.
    const again = await keys.rotate();
    await keys.retire(again.key_id);
    clock.advance(3600_000);
    equal((await keys.fresh()).keyId, now.key_id);
    // A store with no signer yet (a fresh data dir) gets one at once.
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
  "server keys: a background re-read that fails keeps the cached signer and is logged as an error, once a minute",
  async (s, f) => {
    const clock = fakeClock();
    const lines: Record<string, unknown>[] = [];
    const log = createLogger("debug", { sink: (line) => lines.push(JSON.parse(line)) });
    // This instance has only key-encryption key A; another rotates with B, so the new signer cannot be opened here.
    const here = new ServerKeys(s.serverKeys, "dci-test", clock, { current: KEK_A }, { log });
    const there = keysOf(f.twin(), clock, { current: KEK_B }).keys;
    await here.ensureActive();
    const before = here.active().keyId;
    await there.rotate();
    clock.advance(1000);
    here.active();
    await settle(() => lines.length > 0);
    equal(here.active().keyId, before, "still signing with the cached key");
    equal(lines.length, 1);
    equal(lines[0].level, "error");
    equal(lines[0].key_id, before);
    ok(String(lines[0].msg).includes("re-read failed"));
    clock.advance(1000);
    here.active();
    await settle(() => false);
    clock.advance(60_000);
    // Every call starts a re-read once the last has ended: the one a second later was not logged, the one a
    // minute later is.
    await settle(() => (here.active(), lines.length >= 2));
    equal(lines.length, 2);
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
