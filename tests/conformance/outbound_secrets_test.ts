/**
 * A sender's outbound secret (static bearer token or OAuth2 client secret) is stored encrypted with the
 * key-encryption key, bound to its row, never shown again by the CLI or admin API; the CLI sets the per-sender
 * settings and reads the secret from a file, never from a flag.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import { runCli } from "../../src/cli/cli.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { closeDeps, openDeps } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { dataDirDatabase } from "../helpers/server.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";
import { addSender, senderForDelivery } from "../../src/senders/store.ts";

const KEK = Buffer.from(randomBytes(32)).toString("base64");
const TOKEN = "partner-bearer-token-0123456789abcdef";
const SENDER = "https://partner.example/dci";

async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, COMMANDS, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env: { DCI_LOG_LEVEL: "error", DCI_SEED_DEMO: "false", ...env },
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

async function storedSecret(dataDir: string, senderId: string): Promise<string | null> {
  const db = await dataDirDatabase(dataDir);
  try {
    const [row] = await db.sql("SELECT outbound_secret FROM senders WHERE sender_id = ?", [senderId]);
    return (row as { outbound_secret: string | null }).outbound_secret;
  } finally {
    await db.close();
  }
}

/**
 * The server's settings on `dataDir` and its database (on the PostgreSQL pass, the database standing for it:
 * the CLI and the deps opened here share it, as they share the SQLite file).
 */
async function onDataDir(dataDir: string) {
  let databaseUrl: string | undefined;
  if (TEST_BACKEND === "postgres") {
    const db = await dataDirDatabase(dataDir);
    await db.close();
    databaseUrl = db.databaseUrl;
  }
  const env = { DCI_DATA_DIR: dataDir, ...databaseUrl ? { DCI_DATABASE_URL: databaseUrl } : {} };
  // The CLI's commands refuse a data dir without a database (a mistyped one): create it as an operator would.
  const migrated = await cli(["migrate"], env);
  if (migrated.code !== 0) throw new Error(`migrate: ${migrated.stderr}`);
  return {
    env,
    config: (more: Record<string, string> = {}) =>
      testConfig({ dataDir, ...databaseUrl ? { databaseUrl } : {}, ...more }),
  };
}

Deno.test("CLI: sender settings are set by flags, the outbound token read from a file is sealed at rest and never printed", async () => {
  const dataDir = await Deno.makeTempDir();
  const secretFile = await Deno.makeTempFile();
  const on = await onDataDir(dataDir);
  const env = { ...on.env, DCI_KEY_ENCRYPTION_KEY: KEK };
  try {
    await Deno.writeTextFile(secretFile, `${TOKEN}\n`);
    const added = await cli([
      "sender",
      "add",
      SENDER,
      "--signature-policy",
      "optional",
      "--signature-max-window",
      "3600",
      "--test-mode",
      "true",
      "--lenient",
      "total_count",
      "--callback-url-mode",
      "exact",
      "--outbound-auth",
      "bearer",
      "--outbound-secret-file",
      secretFile,
      "--json",
    ], env);
    assert.equal(added.code, 0, added.stderr);
    const shown = await cli(["sender", "show", SENDER, "--json"], env);
    assert.equal(shown.code, 0, shown.stderr);
    for (const text of [added.stdout, shown.stdout]) {
      assert.ok(!text.includes(TOKEN), "the token is never printed");
      const s = JSON.parse(text);
      assert.equal(s.signature_policy, "optional");
      assert.equal(s.signature_max_window_seconds, 3600);
      assert.equal(s.test_mode, true);
      assert.deepEqual(s.lenient, ["total_count"]);
      assert.equal(s.callback_url_mode, "exact");
      assert.deepEqual(s.outbound_auth, { type: "bearer", token_set: true });
    }
    const stored = (await storedSecret(dataDir, SENDER))!;
    assert.match(stored, /^dcikek1:/);
    assert.ok(!stored.includes(TOKEN) && !stored.includes(Buffer.from(TOKEN).toString("base64")));

    // The server reads it back (only with the key), for this row only.
    const deps = await openDeps(on.config({ keyEncryptionKey: KEK }), { log: silentLogger });
    try {
      const outbound = async (id: string) => (await senderForDelivery(deps, id))?.outbound;
      assert.deepEqual(await deps.outboundTokens.authorization(deps, SENDER, await outbound(SENDER)), {
        ok: true,
        header: `Bearer ${TOKEN}`,
        fromCache: false,
      });
      const db = await dataDirDatabase(dataDir);
      try {
        await db.sql(
          "INSERT INTO senders (sender_id, name, created_at, updated_at, outbound_auth, outbound_secret) VALUES ('copy', 'c', 'x', 'x', 'bearer', ?)",
          [stored],
        );
      } finally {
        await db.close();
      }
      const copied = await deps.outboundTokens.authorization(deps, "copy", await outbound("copy"));
      assert.equal(copied.ok, false, "a sealed value copied to another row does not open");
    } finally {
      closeDeps(deps);
    }
    await assert.rejects(
      openDeps(on.config(), { log: silentLogger }),
      /encrypted with the key-encryption key/,
    );

    const cleared = await cli(["sender", "update", SENDER, "--outbound-auth", "none", "--json"], env);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.deepEqual(JSON.parse(cleared.stdout).outbound_auth, { type: "none" });
    assert.equal(await storedSecret(dataDir, SENDER), null, "clearing removes the secret");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(secretFile);
  }
});

Deno.test("outbound secrets stored without a key-encryption key are sealed at the next start with one", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const on = await onDataDir(dataDir);
    let deps = await openDeps(on.config(), { log: silentLogger });
    try {
      await addSender(deps, "p1", {
        outbound_auth: {
          type: "oauth2",
          token_url: "https://p1.example/token",
          client_id: "c",
          client_secret: TOKEN,
        },
      });
    } finally {
      closeDeps(deps);
    }
    assert.equal(await storedSecret(dataDir, "p1"), Buffer.from(TOKEN).toString("base64"));
    deps = await openDeps(on.config({ keyEncryptionKey: KEK }), { log: silentLogger });
    closeDeps(deps);
    const sealed = (await storedSecret(dataDir, "p1"))!;
    assert.match(sealed, /^dcikek1:/);
    assert.ok(!sealed.includes(Buffer.from(TOKEN).toString("base64")));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("CLI: bad per-sender settings are usage errors naming the flag", async () => {
  const dataDir = await Deno.makeTempDir();
  const { env } = await onDataDir(dataDir);
  try {
    for (
      const [args, flag] of [
        [["--signature-policy", "sometimes"], "--signature-policy"],
        [["--signature-max-window", "3601"], "--signature-max-window"],
        [["--test-mode", "yes"], "--test-mode"],
        [["--callback-url-mode", "guess"], "--callback-url-mode"],
        [["--outbound-token-url", "https://x.example/t"], "--outbound-token-url"],
        [["--outbound-auth", "bearer"], "--outbound-secret-file"],
        [["--outbound-auth", "magic"], "--outbound-auth"],
      ] as const
    ) {
      const r = await cli(["sender", "add", "p2", ...args], env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, new RegExp(flag));
    }
    const lenient = await cli(["sender", "add", "p2", "--lenient", "everything"], env);
    assert.equal(lenient.code, 1);
    assert.match(lenient.stderr, /lenient must be a list of total_count/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
