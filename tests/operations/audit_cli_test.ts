/**
 * The audit log from the CLI: each write command records itself once it succeeded, with actor `cli` and the
 * OS user, never a secret it printed; a failed command records nothing; `audit list` (table and --json) shows it.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { runCliIn, runCliOk } from "../helpers/cli.ts";
import { osUser } from "../../src/cli/audit.ts";
import { openDatabase } from "../../src/db/sqlite.ts";

function cli(args: string[], env: Record<string, string>) {
  return runCliIn(args, { DCI_SEED_DEMO: "false", ...env });
}

Deno.test("CLI write commands are audited with actor cli and the OS user; audit list shows them; no secret is kept", async () => {
  const dataDir = await Deno.makeTempDir();
  const keyFile = await Deno.makeTempFile({ suffix: ".pem" });
  const env = { DCI_DATA_DIR: dataDir };
  const run = async (...args: string[]) => (await runCliOk(args, { DCI_SEED_DEMO: "false", ...env })).stdout;
  try {
    const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string;
    await Deno.writeTextFile(keyFile, pem);
    await run("migrate");
    await run("sender", "add", "cli-partner", "--name", "CLI partner", "--limit-minute", "60");
    await run("sender", "update", "cli-partner", "--limit-day", "900");
    await run("sender", "key", "add", "cli-partner", "k1", "--file", keyFile);
    await run("sender", "key", "remove", "cli-partner", "k1");
    const created = await run("client", "create", "--sender", "cli-partner");
    const clientId = /client_id:\s+(\S+)/.exec(created)![1];
    const secret = /client_secret:\s+(\S+)/.exec(created)![1];
    const rotated = /client_secret:\s+(\S+)/.exec(await run("client", "rotate-secret", clientId))![1];
    await run("client", "revoke", clientId);
    const tokenOut = await run("admin-token", "create", "--role", "viewer", "--name", "auditor");
    const tokenId = /id:\s+(\S+)/.exec(tokenOut)![1];
    const token = /token:\s+(\S+)/.exec(tokenOut)![1];
    await run("admin-token", "revoke", tokenId);
    const rotatedKey = JSON.parse(await run("keys", "rotate", "--json")).key_id;
    // Run through sudo: the invoking user is kept beside the OS user (a service account every operator shares).
    Deno.env.set("SUDO_USER", "alice");
    try {
      await run("sender", "disable", "cli-partner");
    } finally {
      Deno.env.delete("SUDO_USER");
    }
    await run("sender", "enable", "cli-partner");
    await run("sender", "remove", "cli-partner");
    const failed = await cli(["sender", "update", "nobody", "--limit-day", "1"], env);
    assert.equal(failed.code, 1, "a failed write");
    await run("sender", "list");

    const page = JSON.parse(await run("audit", "list", "--json", "--limit", "100"));
    const items = (page.items as Array<Record<string, unknown>>).reverse();
    // Each with the target the admin API records for the same action (what a command created named by its id).
    assert.deepEqual(items.map((i) => `${i.action} ${i.target_kind}:${i.target_id ?? ""}`), [
      "system.migrate system:",
      "sender.create sender:cli-partner",
      "sender.update sender:cli-partner",
      "sender_key.add sender:cli-partner",
      "sender_key.remove sender_key:cli-partner/k1",
      `client.create client:${clientId}`,
      `client.rotate_secret client:${clientId}`,
      `client.revoke client:${clientId}`,
      `admin_token.create admin_token:${tokenId}`,
      `admin_token.revoke admin_token:${tokenId}`,
      `server_key.rotate server_key:${rotatedKey}`,
      "sender.disable sender:cli-partner",
      "sender.enable sender:cli-partner",
      "sender.delete sender:cli-partner",
    ]);
    for (const i of items) {
      assert.equal(i.source, "cli");
      assert.equal(i.actor_kind, "cli");
      assert.equal(i.actor, osUser());
    }
    // The schema version it migrated to.
    assert.ok(Number((items[0].detail as { schema_version: number }).schema_version) > 30);
    assert.deepEqual(items[1].detail, {
      fields: ["name", "limit_minute"],
      name: "CLI partner",
      limit_minute: "60",
    });
    assert.deepEqual(items[3].detail, { fields: ["file"], key_id: "k1" });
    assert.deepEqual(items[5].detail, { fields: ["sender"], sender: "cli-partner" });
    assert.deepEqual(items[8].detail, { fields: ["role", "name"], role: "viewer", name: "auditor" });
    assert.deepEqual(items[11].detail, { sudo_user: "alice" });

    const table = await run("audit", "list", "--action", "sender.update");
    assert.match(table, /^ID\s+AT\s+SOURCE\s+ACTOR\s+ACTION/);
    assert.equal(table.trim().split("\n").length, 2, table);
    assert.match(table, new RegExp(`cli:${osUser()}\\s+sender.update\\s+sender\\s+cli-partner`));
    assert.equal((await cli(["audit", "list", "--since", "not-a-time"], env)).code, 2);

    const db = openDatabase(`${dataDir}/dci.sqlite`);
    try {
      const stored = JSON.stringify(db.prepare("SELECT * FROM audit_log").all());
      for (const s of [secret, rotated, token, pem.split("\n")[1]]) {
        assert.ok(!stored.includes(s), `the audit log holds no secret (${s.slice(0, 8)}…)`);
      }
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(keyFile);
  }
});

Deno.test("an import that rejected some rows (exit 3) is audited all the same: the others were written", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { DCI_DATA_DIR: dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" };
  try {
    const people = `${dataDir}/people.ndjson`;
    await Deno.writeTextFile(people, ['{"id":"P1"}', '{"id":"bad id!"}'].join("\n") + "\n");
    const imported = await cli(["registry", "import", people], env);
    assert.equal(imported.code, 3, imported.stderr);
    // Nothing written, nothing recorded: every row rejected.
    const none = `${dataDir}/none.ndjson`;
    await Deno.writeTextFile(none, '{"id":"bad id!"}\n');
    assert.equal((await cli(["registry", "import", none], env)).code, 3);

    assert.equal((await cli(["sender", "add", "p1"], env)).code, 0);
    const subs = `${dataDir}/subs.ndjson`;
    const sub = (code: string, sender: string) =>
      JSON.stringify({
        sender_id: sender,
        code,
        notify_url: "http://127.0.0.1:9/notify",
        subscribe_criteria: { reg_event_type: "UPDATE", notify_record_type: "person" },
      });
    await Deno.writeTextFile(subs, [sub("sub-1", "p1"), sub("sub-2", "nobody")].join("\n") + "\n");
    const seeded = await cli(["subscription", "import", subs], env);
    assert.equal(seeded.code, 3, seeded.stdout + seeded.stderr);
    assert.match(seeded.stdout, /created 1, rejected 1/);

    const listed = await cli(["audit", "list", "--json"], env);
    const items = (JSON.parse(listed.stdout).items as Array<Record<string, unknown>>).reverse();
    assert.deepEqual(items.map((i) => [i.action, i.target_id ?? null, i.detail]), [
      ["registry.import", "social", { exit_code: 3 }],
      ["sender.create", "p1", {}],
      // What it read, created (the codes: the row names them, as no one target) and refused.
      ["subscription.import", null, { exit_code: 3, read: 2, created: ["sub-1"], rejected: 1 }],
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an import that fails part way after writing is audited with its exit code: its first records stay", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { DCI_DATA_DIR: dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" };
  try {
    // Three batches of 10 committed, then the file ends inside a record.
    const people = `${dataDir}/people.json`;
    const persons = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `P${i}` })).join(",");
    await Deno.writeTextFile(people, `[${persons}, {"id": "X`);
    const imported = await cli(["registry", "import", people, "--batch", "10"], env);
    assert.equal(imported.code, 1, imported.stderr);

    assert.equal((await cli(["sender", "add", "p1"], env)).code, 0);
    const sub = (code: string) =>
      JSON.stringify({
        sender_id: "p1",
        code,
        notify_url: "http://127.0.0.1:9/notify",
        subscribe_criteria: { reg_event_type: "UPDATE", notify_record_type: "person" },
      });
    const subs = `${dataDir}/subs.json`;
    await Deno.writeTextFile(subs, `[${sub("sub-1")},${sub("sub-2")}, {"sender_id": tru`);
    const seeded = await cli(["subscription", "import", subs], env);
    assert.equal(seeded.code, 1, seeded.stderr);
    assert.match(seeded.stderr, /records before it were imported/);

    const listed = await cli(["audit", "list", "--json"], env);
    const items = (JSON.parse(listed.stdout).items as Array<Record<string, unknown>>).reverse();
    assert.deepEqual(items.map((i) => [i.action, i.detail]), [
      ["registry.import", { exit_code: 1, fields: ["batch"] }],
      ["sender.create", {}],
      ["subscription.import", { exit_code: 1 }],
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("CLI audit rows name what a command created or acted on; a failed audit insert warns and keeps the exit code", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { DCI_DATA_DIR: dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" };
  const run = async (...args: string[]) => (await runCliOk(args, { DCI_SEED_DEMO: "false", ...env })).stdout;
  try {
    await run("registry", "seed", "--demo", "3", "--registry", "crvs");
    await run("sender", "add", "p1", "--callback-url", "http://127.0.0.1:9");
    const code = JSON.parse(
      await run(
        "subscription",
        "create",
        "--sender",
        "p1",
        "--event",
        "UPDATE",
        "--record-type",
        "Person",
        "--json",
      ),
    ).code;
    await run("notification", "retry", "--subscription", code);
    const backup = JSON.parse(await run("backup", "--json")).path;
    await run("restore", backup, "--replace");
    const items = (JSON.parse(await run("audit", "list", "--json")).items as Array<Record<string, unknown>>)
      .reverse();
    assert.deepEqual(items.map((i) => `${i.action} ${i.target_kind}:${i.target_id ?? ""}`), [
      "registry.seed registry:crvs",
      "sender.create sender:p1",
      `subscription.create subscription:${code}`,
      // As the admin API's POST /subscriptions/{code}/notifications/retry records it.
      `subscription.retry_notifications subscription:${code}`,
      "system.restore system:",
    ]);
    assert.equal(items.at(-1)!.detail && (items.at(-1)!.detail as { file: string }).file, backup);

    // The write is done when its audit insert fails: exit 0, the result printed, a warning on stderr.
    const db = openDatabase(`${dataDir}/dci.sqlite`);
    try {
      db.exec("ALTER TABLE audit_log RENAME TO audit_log_away");
    } finally {
      db.close();
    }
    const added = await cli(["sender", "add", "p2"], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /created sender p2/);
    assert.match(
      added.stderr,
      /warning: the write is done but its audit record failed: no such table: audit_log/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
