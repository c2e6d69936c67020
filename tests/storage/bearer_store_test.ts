/** The bearer lookup, the same row from both backends. */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest, type RawSql } from "../helpers/storage.ts";

const AT = "2026-05-01T12:00:00.000Z";

async function seed(exec: RawSql): Promise<void> {
  for (const [keyId, status] of [["k1", "active"], ["k0", "retired"]]) {
    await exec(
      `INSERT INTO server_keys (key_id, alg, public_jwk, private_der, status, created_at)
       VALUES (?, 'ed25519', '{}', 'x', ?, ?)`,
      [keyId, status, AT],
    );
  }
  await exec(
    `INSERT INTO senders (sender_id, name, limit_minute, signature_max_window_s, test_mode, lenient, keys_version,
       created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ["s1", "Sender one", 120, 600, 1, "total_count", 3, AT, AT],
  );
  await exec(
    "INSERT INTO senders (sender_id, name, active, created_at, updated_at) VALUES ('s2', 'Two', 0, ?, ?)",
    [
      AT,
      AT,
    ],
  );
  for (
    const [clientId, senderId, scopes, active] of [
      ["c1", "s1", "registry:search registry:subscribe", 1],
      ["c2", "s2", "registry:search", 0],
    ]
  ) {
    await exec(
      `INSERT INTO oauth_clients (client_id, sender_id, secret_hash, scopes, active, created_at)
       VALUES (?, ?, 'h', ?, ?, ?)`,
      [clientId, senderId, scopes, active, AT],
    );
  }
}

backendTest(
  "bearer store: lookup reads the client, its sender and the signing key's status",
  async (s, exec) => {
    await seed(exec);
    deepEqual({ ...await s.bearer.lookup("c1", "k1", "ed25519") }, {
      active: 1,
      sender_id: "s1",
      scopes: "registry:search registry:subscribe",
      secret_rotated_at: null,
      sender_active: 1,
      sender_created_at: AT,
      keys_version: 3,
      limit_minute: 120,
      limit_day: null,
      signature_policy: null,
      signature_max_window_s: 600,
      test_mode: 1,
      lenient: "total_count",
      key_status: "active",
    });
    const revoked = await s.bearer.lookup("c2", "k0", "ed25519");
    deepEqual([revoked?.active, revoked?.sender_active, revoked?.key_status], [0, 0, "retired"]);
    equal((await s.bearer.lookup("c1", "k9", "ed25519"))?.key_status, null, "a key this server never had");
    equal(
      (await s.bearer.lookup("c1", "k1", "rsa-sha256"))?.key_status,
      null,
      "the key id under another alg",
    );
    equal(await s.bearer.lookup("nobody", "k1", "ed25519"), undefined);
    equal(await s.bearer.lookup("c1' OR '1'='1", "k1", "ed25519"), undefined);
  },
);
