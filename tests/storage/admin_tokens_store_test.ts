/** The admin token store, the same contract on both backends. */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { backendSqlTest, backendTest } from "../helpers/storage.ts";
import { hashSecret, lookupKey } from "../../src/auth/secrets.ts";

const ENV = "an operator phrase of more than 24 characters";

backendTest(
  "admin token store: create shows the secret once; get and list describe tokens, newest first",
  async (s) => {
    const a = await s.adminTokens.create({ role: "admin", name: "ops", now: "2026-01-01T00:00:00.000Z" });
    const b = await s.adminTokens.create({ role: "viewer", now: "2026-01-02T00:00:00.000Z" });
    match(a.token, /^dcia_at_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    ok(a.token.includes(a.info.id));
    deepEqual(a.info, {
      id: a.info.id,
      name: "ops",
      role: "admin",
      source: "cli",
      created_at: "2026-01-01T00:00:00.000Z",
      last_used_at: null,
      revoked_at: null,
    });
    equal(b.info.name, "viewer token");
    deepEqual(await s.adminTokens.get(a.info.id), a.info);
    equal(await s.adminTokens.get("at_0000000000000000"), undefined);
    deepEqual(await s.adminTokens.list(), [b.info, a.info]);
    // Neither the secret nor its hash is part of a description.
    ok(!JSON.stringify(await s.adminTokens.list()).includes(a.token.slice(-43)));
    ok(!("hash" in (await s.adminTokens.get(a.info.id))!));
  },
);

backendTest("admin token store: verify accepts the token it created, and nothing else", async (s) => {
  const { token, info } = await s.adminTokens.create({ role: "viewer" });
  deepEqual(await s.adminTokens.verify(token), info);
  const otherSecret = token.slice(0, -43) + "A".repeat(43);
  equal(await s.adminTokens.verify(otherSecret), undefined);
  equal(await s.adminTokens.verify(`dcia_at_0123456789abcdef_${"B".repeat(43)}`), undefined);
  equal(await s.adminTokens.verify("not a token"), undefined);
  equal(await s.adminTokens.verify(`dcia_${info.id}_' OR '1'='1`), undefined);
});

backendTest("admin token store: revoke stops a token at once; a second revoke is refused", async (s) => {
  const { token, info } = await s.adminTokens.create({ role: "admin" });
  equal(await s.adminTokens.activeRole(info.id), "admin");
  equal(await s.adminTokens.revoke(info.id, "2026-02-01T00:00:00.000Z"), true);
  equal(await s.adminTokens.revoke(info.id, "2026-02-02T00:00:00.000Z"), false);
  equal(await s.adminTokens.revoke("at_0000000000000000"), false);
  equal(await s.adminTokens.activeRole(info.id), undefined);
  equal(await s.adminTokens.activeRole("at_0000000000000000"), undefined);
  equal(await s.adminTokens.verify(token), undefined);
  equal((await s.adminTokens.get(info.id))!.revoked_at, "2026-02-01T00:00:00.000Z");
});

backendTest(
  "admin token store: ensureEnv registers DCI_ADMIN_TOKEN once and replaces it when it changes",
  async (s) => {
    equal(await s.adminTokens.verify(ENV, { envToken: ENV }), undefined, "no env row yet");
    equal(await s.adminTokens.ensureEnv(ENV, "2026-01-01T00:00:00.000Z"), "registered");
    equal(await s.adminTokens.ensureEnv(ENV, "2026-01-02T00:00:00.000Z"), "current");
    const first = await s.adminTokens.verify(ENV, { envToken: ENV });
    equal(first?.source, "env");
    equal(first?.role, "admin");
    equal(first?.name, "DCI_ADMIN_TOKEN");
    // The env token matches only as the configured value, not as a token of its own.
    equal(await s.adminTokens.verify(ENV), undefined);

    const next = "another operator phrase, also long enough";
    equal(await s.adminTokens.ensureEnv(next, "2026-01-03T00:00:00.000Z"), "registered");
    equal(await s.adminTokens.verify(ENV, { envToken: next }), undefined, "the old value is no token now");
    // An instance still configured with the old phrase does not take it for the new row, and its restart
    // does not bring the old one back.
    equal(await s.adminTokens.verify(ENV, { envToken: ENV }), undefined, "the old phrase, configured");
    equal(await s.adminTokens.ensureEnv(ENV, "2026-01-04T00:00:00.000Z"), "revoked");
    const second = await s.adminTokens.verify(next, { envToken: next });
    ok(second && second.id !== first!.id);
    deepEqual((await s.adminTokens.list()).map((t) => [t.source, t.revoked_at]), [
      ["env", null],
      ["env", "2026-01-03T00:00:00.000Z"],
    ]);
  },
);

backendTest(
  "admin token store: an env token an operator revoked is not registered again at the next start",
  async (s) => {
    equal(await s.adminTokens.ensureEnv(ENV, "2026-01-01T00:00:00.000Z"), "registered");
    const row = await s.adminTokens.verify(ENV, { envToken: ENV });
    ok(row);
    ok(await s.adminTokens.revoke(row.id, "2026-01-02T00:00:00.000Z"));
    equal(await s.adminTokens.verify(ENV, { envToken: ENV }), undefined);
    equal(await s.adminTokens.ensureEnv(ENV, "2026-01-03T00:00:00.000Z"), "revoked");
    equal(await s.adminTokens.verify(ENV, { envToken: ENV }), undefined, "still refused after the restart");
    deepEqual((await s.adminTokens.list()).map((t) => t.revoked_at), ["2026-01-02T00:00:00.000Z"]);
    // A new phrase is registered as usual.
    const fresh = "a fresh operator phrase, long enough too";
    equal(await s.adminTokens.ensureEnv(fresh, "2026-01-04T00:00:00.000Z"), "registered");
    ok(await s.adminTokens.verify(fresh, { envToken: fresh }));
  },
);

backendSqlTest(
  "admin token store: a legacy token is found by its lookup key and listed for replacement",
  async (s, f) => {
    const legacy = `dcia_${"L".repeat(43)}`;
    const { salt, hash } = await hashSecret(legacy);
    await f.sql.all(
      `INSERT INTO admin_tokens (id, name, role, source, lookup_key, salt, hash, created_at)
     VALUES ('at_legacy', 'old', 'viewer', 'cli', ?, ?, ?, '2025-01-01T00:00:00.000Z')`,
      lookupKey(legacy),
      salt,
      hash,
    );
    await s.adminTokens.create({ role: "admin" });
    deepEqual(await s.adminTokens.legacyIds(), ["at_legacy"]);
    equal((await s.adminTokens.verify(legacy))?.id, "at_legacy");
    equal(await s.adminTokens.verify(`dcia_${"M".repeat(43)}`), undefined);
    await s.adminTokens.revoke("at_legacy");
    deepEqual(await s.adminTokens.legacyIds(), []);
    equal(await s.adminTokens.verify(legacy), undefined);
  },
);

backendSqlTest(
  "admin token store: two instances registering DCI_ADMIN_TOKEN at once register it once",
  async (s, f) => {
    const results = await Promise.all([
      s.adminTokens.ensureEnv(ENV, "2026-01-01T00:00:00.000Z"),
      f.twin().adminTokens.ensureEnv(ENV, "2026-01-01T00:00:00.000Z"),
    ]);
    const active = await f.sql.all("SELECT id FROM admin_tokens WHERE source = 'env' AND revoked_at IS NULL");
    equal(active.length, 1);
    deepEqual(results.sort(), ["current", "registered"]);
  },
);
