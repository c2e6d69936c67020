import { deepEqual, equal, match, ok } from "node:assert/strict";
import { runCliIn } from "../helpers/cli.ts";
import { runCliProcess } from "../helpers/server.ts";
import { RUN_FLAGS, taskV8Flags } from "../helpers/runtime.ts";

function cli(args: string[], env: Record<string, string> = {}) {
  return runCliIn(args, env);
}

Deno.test("dci-server --help lists the commands and exits 0; each command has --help", async () => {
  const top = await cli(["--help"]);
  equal(top.code, 0);
  for (const c of ["serve", "migrate", "keys", "admin-token"]) match(top.stdout, new RegExp(`\\b${c}\\b`));
  for (
    const args of [["serve", "--help"], ["migrate", "--help"], ["keys", "--help"], [
      "keys",
      "rotate",
      "--help",
    ]]
  ) {
    const r = await cli(args);
    equal(r.code, 0, args.join(" "));
    match(r.stdout, /Usage: dci-server/);
  }
});

Deno.test("command --help keeps every flag apart from its description, however long the flag", async () => {
  const r = await cli(["sender", "add", "--help"]);
  equal(r.code, 0);
  const flags = r.stdout.split("\n").filter((l) => l.startsWith("  --"));
  ok(flags.some((l) => l.includes("--outbound-secret-file")), r.stdout);
  for (const line of flags) match(line, /^ {2}--\S+( VALUE)? {2,}\S/, line);
});

Deno.test("dci-server exits 2 on bad usage", async () => {
  equal((await cli(["frobnicate"])).code, 2);
  equal((await cli(["keys"])).code, 2);
  equal((await cli(["keys", "list", "--bogus"])).code, 2);
  equal((await cli(["keys", "retire"])).code, 2);
  equal((await cli(["keys", "rotate", "--alg", "dsa"])).code, 2);
  equal((await cli(["admin-token", "create", "--role", "root"])).code, 2);
  const bad = await cli(["migrate"], { DCI_LOG_LEVEL: "loud" });
  equal(bad.code, 2);
  match(bad.stderr, /DCI_LOG_LEVEL/);
});

Deno.test("dci-server migrate, keys and admin-token work on a data dir and fail with exit 1 on errors", async () => {
  const dir = await Deno.makeTempDir();
  const env = { DCI_DATA_DIR: dir };
  const m = await cli(["migrate"], env);
  equal(m.code, 0, m.stderr);
  match(m.stdout, /applied: 0001_init/);
  match((await cli(["migrate"], env)).stdout, /up to date/);
  const rotate = await cli(["keys", "rotate"], env);
  equal(rotate.code, 0, rotate.stderr);
  const list = await cli(["keys", "list"], env);
  match(list.stdout, /ed25519\s+active/);
  const keyId = /active key: (\S+)/.exec(rotate.stdout)![1];
  const retireActive = await cli(["keys", "retire", keyId], env);
  equal(retireActive.code, 1);
  match(retireActive.stderr, /rotate before retiring/);
  const created = await cli(["admin-token", "create", "--role", "viewer", "--name", "ops"], env);
  equal(created.code, 0, created.stderr);
  const token = /token: (\S+)/.exec(created.stdout)![1];
  ok(token.startsWith("dcia_"));
  const tokens = await cli(["admin-token", "list"], env);
  match(tokens.stdout, /ops\s+viewer/);
  ok(!tokens.stdout.includes(token), "the listing never shows the secret");
  const id = /id:\s+(\S+)/.exec(created.stdout)![1];
  equal((await cli(["admin-token", "revoke", id], env)).code, 0);
  equal((await cli(["admin-token", "revoke", id], env)).code, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("keys rotate publishes the next key first (DCI_KEY_PUBLISH_SECONDS); one waits at a time; --now signs at once", async () => {
  const dir = await Deno.makeTempDir();
  const env = { DCI_DATA_DIR: dir, DCI_KEY_PUBLISH_SECONDS: "900" };
  try {
    equal((await cli(["migrate"], env)).code, 0);
    const first = await cli(["keys", "rotate"], env);
    match(first.stdout, /active key: /, "a data dir without a signer gets one at once");
    const next = await cli(["keys", "rotate", "--alg", "rsa"], env);
    equal(next.code, 0, next.stderr);
    const nextId = /next key: (\S+) \(rsa-sha256\).*published now, signs from (\S+)/.exec(next.stdout);
    ok(nextId, next.stdout);
    const list = await cli(["keys", "list"], env);
    match(list.stdout, new RegExp(`${nextId[1]}\\s+rsa-sha256\\s+next`));
    match(list.stdout, /ed25519\s+active/);
    const refused = await cli(["keys", "rotate"], env);
    equal(refused.code, 1);
    match(refused.stderr, new RegExp(`"${nextId[1]}" already waits to sign`));
    const now = await cli(["keys", "rotate", "--now"], env);
    equal(now.code, 0, now.stderr);
    match(now.stdout, /active key: /);
    match((await cli(["keys", "list"], env)).stdout, new RegExp(`${nextId[1]}\\s+rsa-sha256\\s+retired`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts runs the same commands as a process with the same exit codes", async () => {
  const help = await runCliProcess(["--help"]);
  equal(help.code, 0);
  match(help.stdout, /Commands:/);
  equal((await runCliProcess(["nope"])).code, 2);
  const dir = await Deno.makeTempDir();
  equal((await runCliProcess(["migrate", "--data-dir", dir])).code, 0);
  const retire = await runCliProcess(["keys", "retire", "missing", "--data-dir", dir]);
  equal(retire.code, 1);
  match(retire.stderr, /does not exist/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("every deno.json task that runs main.ts, the compiled binary's included, has the same V8 flags", () => {
  // The young generation is capped per isolate (see README, Memory); tests and benchmarks spawn with the same.
  const flags = taskV8Flags("start");
  deepEqual(flags, ["--v8-flags=--max-semi-space-size=8"]);
  for (const task of ["dev", "cli", "compile"] as const) deepEqual(taskV8Flags(task), flags, task);
  ok(RUN_FLAGS.includes(flags[0]));
});

Deno.test("settings flags before the command are global: --data-dir D keys list, --env-file F admin-token create", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    equal((await cli(["migrate", "--data-dir", dir])).code, 0);
    const list = await cli(["--data-dir", dir, "keys", "list"]);
    equal(list.code, 0, list.stderr);
    match(list.stdout, /\(none\)|KEY_ID/);
    const created = await cli([
      "--data-dir=" + dir,
      "--log-level",
      "warn",
      "admin-token",
      "create",
      "--role",
      "viewer",
    ]);
    equal(created.code, 0, created.stderr);
    match(created.stdout, /token: dcia_/);
    // --env-file is one of them, read before the command runs (process: the env file is read there).
    const envFile = `${other}/dci.env`;
    await Deno.writeTextFile(envFile, `DCI_DATA_DIR=${dir}\n`);
    const viaFile = await runCliProcess(["--env-file", envFile, "admin-token", "list"]);
    equal(viaFile.code, 0, viaFile.stderr);
    match(viaFile.stdout, /viewer/);
    // A flag the command does not know after the settings is still serve's (its usage error names it).
    const bogus = await cli(["--data-dir", dir, "--bogus"]);
    equal(bogus.code, 2);
    match(bogus.stderr, /^dci-server serve: .*--bogus/);
    // A bad settings value before the command is reported as the setting's.
    const bad = await cli(["--port", "", "keys", "list"]);
    equal(bad.code, 2);
    match(bad.stderr, /--port="": empty: remove the line or give a number/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("an empty numeric setting stops any command with exit 2 naming it (not read as 0)", async () => {
  const r = await cli(["keys", "list"], { DCI_KEY_PUBLISH_SECONDS: "" });
  equal(r.code, 2);
  match(r.stderr, /DCI_KEY_PUBLISH_SECONDS="": empty: remove the line or give a number/);
});
