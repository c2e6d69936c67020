/**
 * Sealing secrets at start (src/keys/at_rest.ts) under a write another process holds: a secret written while the
 * start waited for the write lock is sealed as written, never replaced by the value read before the wait.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import { migrate } from "../../src/db/migrate.ts";
import { sealSecretsAtRest } from "../../src/keys/at_rest.ts";
import { parseKek, unseal } from "../../src/keys/kek.ts";
import { outboundSecretAad } from "../../src/senders/outbound_secret.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

Deno.test("sealing at start seals a secret another process wrote while it waited for the write lock, not the one it read before", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-reseal-" });
  const file = `${dir}/dci.sqlite`;
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000");
    migrate(db);
    const now = new Date().toISOString();
    db.prepare(
      "INSERT INTO senders (sender_id, name, outbound_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    ).run("s1", "S1", b64("old-secret"), now, now);
    // Another process: takes the write lock, writes a new secret, commits 300 ms later.
    const writer = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DatabaseSync } from "node:sqlite";
        const db = new DatabaseSync(${JSON.stringify(file)});
        db.exec("PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE");
        db.prepare("UPDATE senders SET outbound_secret = ? WHERE sender_id = 's1'").run(${
          JSON.stringify(b64("new-secret"))
        });
        console.log("locked");
        await new Promise((r) => setTimeout(r, 300));
        db.exec("COMMIT");
        db.close();`,
      ],
      stdout: "piped",
    }).spawn();
    const out = writer.stdout.getReader();
    assert.match(new TextDecoder().decode((await out.read()).value), /locked/);
    const kek = parseKek(Buffer.alloc(32, 5).toString("base64"), "DCI_KEY_ENCRYPTION_KEY");
    // Reads "old-secret" (the writer has not committed), then waits for the lock.
    const report = sealSecretsAtRest(db as never, { current: kek });
    out.releaseLock();
    assert.equal((await writer.output()).code, 0);
    assert.equal(report.sealed, 1);
    const stored = String(
      (db.prepare("SELECT outbound_secret AS v FROM senders WHERE sender_id = 's1'").get() as { v: string })
        .v,
    );
    assert.equal(
      Buffer.from(unseal({ current: kek }, stored, outboundSecretAad("s1"))).toString(),
      "new-secret",
    );
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
