/**
 * Secrets at rest: the data dir is owner-only (and tightened at start when it is not); with a key-encryption
 * key the server's private keys are not in the SQLite files in any form; a server without that key refuses
 * to start on them; admin token rows hold a salted slow hash and nothing a stolen database could test
 * guesses against quickly.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { dataDirDatabaseUrl, dataDirSql, runCliProcess, startServerProcess } from "../helpers/server.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";
import { closeDeps, openDeps } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { createApp } from "../helpers/app.ts";
import { hashSecret, lookupKey } from "../../src/auth/secrets.ts";

const KEK = Buffer.alloc(32, 7).toString("base64");
const KEK_2 = Buffer.alloc(32, 9).toString("base64");
const mode = (path: string) => ((Deno.statSync(path).mode ?? 0) & 0o777).toString(8);

/** The data files of a stopped server, concatenated (SQLite main file, WAL, SHM, KV). */
function rawFiles(dir: string): Uint8Array {
  const parts = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) =>
    Deno.readFileSync(`${dir}/${e.name}`)
  );
  return new Uint8Array(Buffer.concat(parts));
}

/** Every private key row of the data dir's database as stored (plaintext base64 DER, or sealed). */
async function privateRows(dir: string): Promise<{ keyId: string; stored: string }[]> {
  const rows = await dataDirSql(dir, "SELECT key_id, private_der FROM server_keys ORDER BY key_id");
  return rows.map((r) => ({ keyId: String(r.key_id), stored: String(r.private_der) }));
}

// The SQLite and KV files' modes: on PostgreSQL the server keeps no database file in its data dir.
Deno.test({
  name:
    "serve creates the data dir 0700 and every SQLite and KV file 0600, and tightens looser modes at start with one warning",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const root = await Deno.makeTempDir({ prefix: "dci-modes-" });
  const dataDir = `${root}/data`;
  try {
    let server = await startServerProcess({ dataDir });
    await server.stop();
    assert.equal(mode(dataDir), "700");
    const files = [...Deno.readDirSync(dataDir)].map((e) => e.name).sort();
    assert.ok(files.includes("dci.sqlite") && files.includes("kv.sqlite3"), files.join(","));
    for (const name of files) assert.equal(mode(`${dataDir}/${name}`), "600", name);

    Deno.chmodSync(dataDir, 0o755);
    for (const name of files) Deno.chmodSync(`${dataDir}/${name}`, 0o644);
    server = await startServerProcess({ dataDir, env: { DCI_HTTP_ISOLATES: "2" } });
    await server.stop();
    assert.equal(mode(dataDir), "700");
    for (const e of Deno.readDirSync(dataDir)) assert.equal(mode(`${dataDir}/${e.name}`), "600", e.name);
    const warnings = server.logs.filter((l) => l.level === "warn" && /permissions/.test(String(l.msg)));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    const fixed = warnings[0].fixed as string[];
    assert.ok(fixed.includes(`${dataDir} 0755 -> 0700`), JSON.stringify(fixed));
    assert.ok(fixed.includes(`${dataDir}/dci.sqlite 0644 -> 0600`), JSON.stringify(fixed));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("with a key-encryption key the private keys are not in the data files in any form, and a server without it refuses to start", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-kek-" });
  try {
    // Started without a KEK: the key is stored in plaintext, and the byte search below can see it.
    await (await startServerProcess({ dataDir })).stop();
    const [plain] = await privateRows(dataDir);
    const der = Buffer.from(plain.stored, "base64");
    const tells = [Buffer.from(plain.stored), der, der.subarray(der.length - 32)];
    // The byte search reads the SQLite files; on PostgreSQL (no database file in the data dir) the rows alone.
    const onSqlite = TEST_BACKEND === "sqlite";
    if (onSqlite) {
      assert.ok(Buffer.from(rawFiles(dataDir)).includes(tells[0]), "plaintext key visible without a KEK");
    }

    // Started with a KEK: the plaintext row is sealed at start and its old bytes are gone from every file.
    const withKek = await startServerProcess({ dataDir, env: { DCI_KEY_ENCRYPTION_KEY: KEK } });
    await withKek.stop();
    const rotated = await runCliProcess(["keys", "rotate"], {
      DCI_DATA_DIR: dataDir,
      DCI_KEY_ENCRYPTION_KEY: KEK,
    });
    assert.equal(rotated.code, 0, rotated.stderr);
    const rows = await privateRows(dataDir);
    assert.equal(rows.length, 2);
    for (const r of rows) assert.match(r.stored, /^dcikek1:[0-9a-f]{16}:/);
    const raw = onSqlite ? Buffer.from(rawFiles(dataDir)) : Buffer.from(JSON.stringify(rows));
    for (const tell of tells) assert.ok(!raw.includes(tell), "no trace of the private key in the data files");

    // The sealed key still signs: opened with the KEK, it is the key published before.
    const databaseUrl = await dataDirDatabaseUrl(dataDir) ?? "";
    const deps = await openDeps(testConfig({ dataDir, databaseUrl, keyEncryptionKey: KEK }), {
      log: silentLogger,
    });
    try {
      const jwks = (await deps.keys.jwks()).keys.map((k) => k.x);
      assert.equal(jwks.length, 2);
      assert.ok(jwks.includes(deps.keys.active().publicKey.export({ format: "jwk" }).x));
    } finally {
      closeDeps(deps);
    }

    let started;
    let failure = "";
    try {
      started = await startServerProcess({ dataDir });
    } catch (err) {
      failure = (err as Error).message;
    }
    if (started) {
      await started.stop();
      assert.fail("the server started without the key-encryption key on encrypted private keys");
    }
    assert.match(failure, /encrypted with the key-encryption key [0-9a-f]{16}.*DCI_KEY_ENCRYPTION_KEY/s);
    const wrong = await runCliProcess(["keys", "list"], {
      DCI_DATA_DIR: dataDir,
      DCI_KEY_ENCRYPTION_KEY: KEK_2,
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /this server has only [0-9a-f]{16}/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("openDeps() re-seals with a new key-encryption key when the previous one is given, and can open back to plaintext", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-kek-rotate-" });
  // The data dir's database: its SQLite file, or on the PostgreSQL pass the database standing for it.
  const databaseUrl = await dataDirDatabaseUrl(dataDir) ?? "";
  const open = (env: Record<string, string>) =>
    openDeps(testConfig({ dataDir, databaseUrl, ...env }), { log: silentLogger });
  try {
    await closeDeps(await open({ keyEncryptionKey: KEK }));
    const [first] = await privateRows(dataDir);
    await closeDeps(await open({ keyEncryptionKey: KEK_2, keyEncryptionKeyPrevious: KEK }));
    const [second] = await privateRows(dataDir);
    assert.notEqual(second.stored.split(":")[1], first.stored.split(":")[1]);
    // The old KEK alone no longer opens anything; the new one alone does.
    await assert.rejects(open({ keyEncryptionKey: KEK }), /this server has only/);
    const deps = await open({ keyEncryptionKey: KEK_2 });
    assert.ok(deps.keys.active().privateKey);
    await closeDeps(deps);
    // Dropping the KEK: the previous one opens the rows back to plaintext.
    await closeDeps(await open({ keyEncryptionKeyPrevious: KEK_2 }));
    assert.match((await privateRows(dataDir))[0].stored, /^MC4CAQAwBQYDK2Vw/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("openDeps() refuses a key-encryption key file inside the data dir and a key that is not 32 bytes", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-kek-file-" });
  try {
    await Deno.writeTextFile(`${dataDir}/kek`, KEK);
    await assert.rejects(
      openDeps(testConfig({ dataDir, keyEncryptionKeyFile: `${dataDir}/kek` }), { log: silentLogger }),
      /is inside the data dir/,
    );
    await assert.rejects(
      openDeps(testConfig({ dataDir, keyEncryptionKey: Buffer.alloc(16).toString("base64") })),
      (err: Error) => /must be 32 random bytes/.test(err.message) && !err.message.includes("AAAA"),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("admin token rows hold a salted scrypt hash found by id: no unsalted hash of the token or its secret", async () => {
  const envToken = "operator-chosen-admin-phrase-123";
  const deps = await testDeps({ adminToken: envToken });
  try {
    const { token, info } = await deps.storage.adminTokens.create({ role: "admin" });
    assert.match(token, /^dcia_at_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.ok(token.includes(info.id));
    await deps.storage.adminTokens.ensureEnv(envToken);
    const rows = await deps.sql("SELECT * FROM admin_tokens");
    assert.equal(rows.length, 2);
    const secret = token.slice(`dcia_${info.id}_`.length);
    for (const value of [token, secret, envToken]) {
      const hex = createHash("sha256").update(value).digest("hex");
      const b64 = createHash("sha256").update(value).digest("base64");
      for (const row of rows) {
        for (const [column, stored] of Object.entries(row)) {
          const s = String(stored);
          assert.ok(
            !s.includes(value) && !s.includes(hex.slice(0, 16)) && !s.includes(b64.slice(0, 16)),
            column,
          );
        }
      }
    }
    for (const row of rows) assert.equal(row.lookup_key, null);

    // The token works; the same id with another secret does not; the env phrase works; revocation is at once.
    assert.equal((await deps.storage.adminTokens.verify(token))?.id, info.id);
    assert.equal(await deps.storage.adminTokens.verify(`dcia_${info.id}_${"A".repeat(43)}`), undefined);
    const app = createApp(deps);
    const get = (t: string) =>
      app.request("/admin/v1/senders", { headers: { authorization: `Bearer ${t}` } });
    assert.equal((await get(token)).status, 200);
    assert.equal((await get(envToken)).status, 200);
    assert.ok(await deps.storage.adminTokens.revoke(info.id));
    assert.equal((await get(token)).status, 401);
  } finally {
    deps.close();
  }
});

Deno.test("an admin token of the old format keeps working until revoked and is listed for replacement", async () => {
  const deps = await testDeps();
  try {
    const legacy = `dcia_${Buffer.alloc(32, 3).toString("base64url")}`;
    const { salt, hash } = await hashSecret(legacy);
    await deps.sql(
      `INSERT INTO admin_tokens (id, name, role, source, lookup_key, salt, hash, created_at)
       VALUES ('at_0123456789ab', 'old', 'viewer', 'cli', ?, ?, ?, '2025-01-01T00:00:00Z')`,
      [lookupKey(legacy), salt, hash],
    );
    assert.equal((await deps.storage.adminTokens.verify(legacy))?.id, "at_0123456789ab");
    assert.deepEqual(await deps.storage.adminTokens.legacyIds(), ["at_0123456789ab"]);
    await deps.storage.adminTokens.revoke("at_0123456789ab");
    assert.equal(await deps.storage.adminTokens.verify(legacy), undefined);
    assert.deepEqual(await deps.storage.adminTokens.legacyIds(), []);
  } finally {
    deps.close();
  }
});
