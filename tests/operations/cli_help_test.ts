/**
 * Every command of the CLI's command table (issue 14 §5): its --help ends with an Examples section of 1 to 3
 * invocations whose flags the command accepts, and every command but `serve` accepts --json.
 */
import assert from "node:assert/strict";
import { type Command, type CommandTree, runCli } from "../../src/cli/cli.ts";
import { COMMANDS } from "../../src/cli/commands.ts";

/** Every runnable command with its path, walking the command table. */
function walk(tree: CommandTree, path: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return Object.entries(tree).flatMap(([name, node]) =>
    typeof (node as Command).run === "function"
      ? [{ path: [...path, name], cmd: node as Command }]
      : walk(node as CommandTree, [...path, name])
  );
}

/** Splits an example like a POSIX shell would for what examples use: words and '…' quoted words. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, COMMANDS, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env: { DCI_LOG_LEVEL: "error", DCI_DATA_DIR: ":memory:" },
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

const ALL = walk(COMMANDS);

Deno.test("the command table holds every area's commands (the walk below covers them)", () => {
  const names = ALL.map((c) => c.path.join(" "));
  for (
    const n of [
      "serve",
      "sender key add",
      "client create",
      "admin-token create",
      "txn retry",
      "registry import",
    ]
  ) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(ALL.length >= 40, `${ALL.length} commands`);
});

Deno.test("every command's --help ends with 1 to 3 examples of itself, and each example's flags parse", async () => {
  for (const { path, cmd } of ALL) {
    const name = path.join(" ");
    const help = await cli([...path, "--help"]);
    assert.equal(help.code, 0, name);
    const [, tail] = help.stdout.split("\nExamples:\n");
    assert.ok(tail, `${name}: no Examples section`);
    const examples = tail.split("\n");
    assert.ok(examples.length >= 1 && examples.length <= 3, `${name}: ${examples.length} examples`);
    assert.deepEqual(examples, cmd.examples!.map((e) => `  dci-server ${e}`), name);
    for (const example of cmd.examples!) {
      const args = words(example);
      // `serve` is also the default command: its examples may start with a flag.
      if (name !== "serve" || !args[0].startsWith("-")) {
        assert.deepEqual(
          args.slice(0, path.length),
          path,
          `${name}: example "${example}" runs another command`,
        );
      }
      // Options are parsed strictly before --help answers: an unknown flag in an example exits 2.
      const parsed = await cli([...args, "--help"]);
      assert.equal(parsed.code, 0, `${name}: example "${example}": ${parsed.stderr}`);
    }
  }
});

Deno.test("--json is accepted by every command but serve, and listed in its --help", async () => {
  for (const { path, cmd } of ALL) {
    const name = path.join(" ");
    const r = await cli([...path, "--json", "--help"]);
    if (cmd.json === false) {
      assert.equal(name, "serve");
      assert.equal(r.code, 2, "serve prints no result: --json is unknown to it");
      continue;
    }
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, /\n {2}--json {2,}Print the result as one JSON document/, name);
  }
});

Deno.test("under --json a usage error is one JSON document on stderr and stdout stays empty", async () => {
  const r = await cli(["keys", "list", "--bogus", "--json"]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  const doc = JSON.parse(r.stderr);
  assert.equal(doc.error.kind, "usage");
  assert.equal(doc.error.exit_code, 2);
  assert.match(doc.error.message, /--bogus/);
  const human = await cli(["keys", "list", "--bogus"]);
  assert.match(human.stderr, /^dci-server keys list: .*--bogus[^]*Usage: dci-server keys list/);
});

Deno.test("under --json an unknown command or subcommand is one JSON document on stderr; without it, help text", async () => {
  for (const args of [["sender", "bogus"], ["bogus"], ["sender", "key", "bogus"]]) {
    const r = await cli([...args, "--json"]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    const doc = JSON.parse(r.stderr);
    assert.deepEqual(doc, {
      error: { kind: "usage", message: `dci-server: unknown command "${args.join(" ")}"`, exit_code: 2 },
    });
  }
  const human = await cli(["sender", "bogus"]);
  assert.equal(human.code, 2);
  assert.match(
    human.stderr,
    /^dci-server: unknown command "sender bogus"\n\nUsage: dci-server sender <command>/,
  );
});

Deno.test("client create --help names the default scopes, which leave out registry.enrollment", async () => {
  const r = await cli(["client", "create", "--help"]);
  assert.equal(r.code, 0);
  const line = r.stdout.split("\n").find((l) => l.startsWith("  --scopes "))!;
  assert.doesNotMatch(line, /default: all/);
  assert.match(
    line,
    /default: registry\.search, registry\.subscribe, registry\.txn-status, registry\.receipt;/,
  );
  assert.match(line, /registry\.enrollment only when named/);
});
