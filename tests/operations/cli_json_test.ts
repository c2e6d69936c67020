/**
 * The CLI's output (issue 14 §5): under --json every list, show and create prints exactly one JSON document on
 * stdout, in the admin API's shapes, with the once-shown secrets in it; errors are JSON on stderr. For people:
 * aligned tables, `key: value` blocks and one success line, from one formatting module.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { runCliIn } from "../helpers/cli.ts";
import { block, table } from "../../src/cli/output.ts";

function cliIn(dataDir: string) {
  // The subscription's notification URL is a loopback one, allowed here, so no name is ever resolved.
  return (...args: string[]) => runCliIn(args, { DCI_DATA_DIR: dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" });
}

/** Runs a command with --json, asserts exit 0 and one JSON document on stdout, and returns it. */
function jsonIn(cli: ReturnType<typeof cliIn>) {
  return async (...args: string[]) => {
    const r = await cli(...args, "--json");
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, "", `${args.join(" ")}: nothing for people on stderr under --json`);
    return JSON.parse(r.stdout);
  };
}

Deno.test("table() aligns columns under upper-case headings; block() aligns keys and indents nested records", () => {
  assert.equal(
    table([{ id: "a", n: 1, tags: ["x", "y"] }, { id: "long-id", n: null }], ["id", "n", "tags"]),
    "ID       N  TAGS\na        1  x y\nlong-id",
  );
  assert.equal(table([], ["id"]), "(none)");
  assert.deepEqual(
    block({
      id: "a",
      longer_key: null,
      list: [],
      scopes: ["s1", "s2"],
      auth: { type: "none" },
      keys: [{ k: 1 }],
    }),
    [
      "id:         a",
      "longer_key: -",
      "list:       (none)",
      "scopes:     s1, s2",
      "auth:",
      "  type: none",
      "keys:",
      "  - k: 1",
    ],
  );
});

Deno.test("--json on every list, show and create of a data dir: one document each, the admin API's shapes", async () => {
  const dir = await Deno.makeTempDir();
  const cli = cliIn(dir);
  const json = jsonIn(cli);
  try {
    assert.deepEqual(Object.keys(await json("migrate")), ["applied", "schema_version"]);
    assert.equal((await json("version")).deno, Deno.version.deno);
    const rotated = await json("keys", "rotate");
    assert.equal(rotated.status, "active");
    assert.ok(!JSON.stringify(rotated).includes("private"));
    assert.deepEqual((await json("keys", "list")).items.map((k: { key_id: string }) => k.key_id), [
      rotated.key_id,
    ]);

    const token = await json("admin-token", "create", "--role", "viewer", "--name", "ops");
    assert.match(token.token, /^dcia_/, "the secret shown once is in the JSON");
    const tokens = await json("admin-token", "list");
    assert.equal(tokens.items[0].id, token.id);
    assert.ok(!JSON.stringify(tokens).includes(token.token));

    const sender = await json("sender", "add", "alice", "--name", "Alice", "--limit-minute", "7");
    assert.equal(sender.limit_minute, 7);
    assert.deepEqual((await json("sender", "list")).senders.map((s: { sender_id: string }) => s.sender_id), [
      "alice",
    ]);
    await Deno.writeTextFile(
      `${dir}/k.pem`,
      generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string,
    );
    assert.equal(
      (await json("sender", "key", "add", "alice", "k1", "--file", `${dir}/k.pem`)).alg,
      "ed25519",
    );
    assert.equal((await json("sender", "key", "list", "alice")).keys[0].key_id, "k1");
    const shown = await json("sender", "show", "alice");
    assert.deepEqual([shown.sender_id, shown.name, shown.keys.length], ["alice", "Alice", 1]);
    assert.equal((await json("sender", "update", "alice", "--limit-day", "9")).limit_day, 9);
    // '' gives a limit back to the server default, as null does in the admin API.
    const reset = await json("sender", "update", "alice", "--limit-minute", "");
    assert.deepEqual([reset.limit_minute, reset.defaults.includes("limit_minute")], [60, true]);
    // An outbound flag of another type is refused, not dropped.
    const stray = await cli(
      "sender",
      "update",
      "alice",
      "--outbound-auth",
      "none",
      "--outbound-token-url",
      "https://x",
    );
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /--outbound-token-url does not apply to --outbound-auth none/);

    const client = await json("client", "create", "--sender", "alice", "--scopes", "registry.search");
    assert.match(client.client_secret, /^dcis_/);
    assert.deepEqual(client.scopes, ["registry.search"]);
    const clients = await json("client", "list");
    assert.equal(clients.clients[0].client_id, client.client_id);
    assert.ok(!JSON.stringify(clients).includes(client.client_secret));
    assert.match((await json("client", "rotate-secret", client.client_id)).client_secret, /^dcis_/);

    assert.deepEqual(await json("txn", "list"), { items: [], next_before: null });
    const sub = await json(
      "subscription",
      "create",
      "--sender",
      "alice",
      "--event",
      "UPDATE",
      "--record-type",
      "Person",
      "--code",
      "sub-json-1",
      "--notify-url",
      "http://127.0.0.1:9/notify",
    );
    assert.equal(sub.code, "sub-json-1");
    assert.equal((await json("subscription", "show", "sub-json-1")).code, "sub-json-1");
    assert.deepEqual((await json("subscription", "list")).items.map((s: { code: string }) => s.code), [
      "sub-json-1",
    ]);
    assert.deepEqual(await json("notification", "list"), { items: [], next_before: null });

    const seeded = await json("registry", "seed", "--demo", "5");
    assert.equal(seeded.rejected_count, 0);
    assert.ok(seeded.registered >= 5);
    const stats = await json("registry", "stats");
    assert.equal(stats.registry, "social");
    assert.equal(stats.persons, 5);
    const backup = await json("backup", `${dir}/b.sqlite`);
    assert.equal(backup.path, `${dir}/b.sqlite`);

    // An error under --json: nothing on stdout, one JSON document on stderr, exit 1.
    const missing = await cli("sender", "show", "nobody", "--json");
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, "");
    assert.deepEqual(JSON.parse(missing.stderr).error.exit_code, 1);
    assert.match(JSON.parse(missing.stderr).error.message, /"nobody" does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("for people: lists are tables, show is a key: value block, create is one success line", async () => {
  const dir = await Deno.makeTempDir();
  const cli = cliIn(dir);
  try {
    assert.equal((await cli("migrate")).code, 0);
    const added = await cli("sender", "add", "alice", "--name", "Alice");
    assert.equal(added.stdout, "created sender alice");
    const list = await cli("sender", "list");
    assert.match(list.stdout, /^SENDER_ID +NAME +ACTIVE .*\nalice +Alice +true /);
    const show = await cli("sender", "show", "alice");
    assert.match(show.stdout, /^sender_id: +alice\nname: +Alice\nactive: +true\n/);
    assert.match(show.stdout, /\nkeys: +\(none\)$/);
    const client = await cli("client", "create", "--sender", "alice");
    const [line, ...secret] = client.stdout.split("\n");
    assert.match(line, /^created client dcic_\S+ for alice \(scopes /);
    assert.match(secret.join("\n"), /^client_id: +dcic_\S+\nclient_secret: dcis_\S+$/);
    assert.match(client.stderr, /shown only now/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry import exits 3 when rows were rejected (their lines and reasons listed), 0 with --allow-rejects", async () => {
  const dir = await Deno.makeTempDir();
  const cli = cliIn(dir);
  try {
    const file = `${dir}/people.ndjson`;
    const rows = [{ id: "P1", sex: "male" }, { id: "P2", sex: "x" }, { id: "bad id!" }, { id: "P3" }];
    await Deno.writeTextFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const human = await cli("registry", "import", file);
    assert.equal(human.code, 3, human.stderr);
    assert.match(human.stdout, /^read 4, registered 2, updated 0, rejected 2 in /);
    assert.match(human.stdout, /\nLINE +REASON\n2 +sex: "x" is not/);
    assert.match(human.stdout, /\n3 +\S/);
    assert.match(human.stderr, /2 row\(s\) rejected, the others imported;.*--allow-rejects/);
    const machine = await cli("registry", "import", file, "--json");
    assert.equal(machine.code, 3);
    const report = JSON.parse(machine.stdout);
    assert.deepEqual([report.read, report.updated, report.rejected_count], [4, 2, 2]);
    assert.deepEqual(report.rejected.map((r: { line: number }) => r.line), [2, 3]);
    assert.equal(JSON.parse(machine.stderr).error.exit_code, 3);
    const accepted = await cli("registry", "import", file, "--allow-rejects");
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /rejected 2/);
    await Deno.writeTextFile(file, JSON.stringify({ id: "P4" }) + "\n");
    assert.equal((await cli("registry", "import", file)).code, 0, "no rejected row: exit 0");
    // People see the first 50 rejected rows and a count of the rest; --json carries every one kept.
    await Deno.writeTextFile(file, Array.from({ length: 60 }, () => '{"id":"bad id!"}').join("\n") + "\n");
    const many = await cli("registry", "import", file);
    assert.equal(many.code, 3);
    assert.equal(many.stdout.split("\n").filter((l) => /^\d+ /.test(l)).length, 50);
    assert.match(many.stdout, /\n\.\.\. and 10 more rejected \(--json lists 60 of the 60\)$/);
    assert.equal(JSON.parse((await cli("registry", "import", file, "--json")).stdout).rejected.length, 60);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
