/**
 * A client's scopes (`client create --scopes`, the admin API's and the console's `scopes`): empty items are
 * dropped, every other one must be known, and a list that names none is refused.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createClient, DEFAULT_SCOPES, parseScopes } from "../../src/senders/clients.ts";
import { SenderError } from "../../src/senders/errors.ts";
import { addSender } from "../../src/senders/store.ts";
import { runCli } from "../../src/cli/cli.ts";
import { COMMANDS } from "../../src/cli/commands.ts";

const invalid = (re: RegExp) => (e: unknown) =>
  e instanceof SenderError && e.kind === "invalid" && re.test(e.message);

Deno.test("parseScopes() checks every item, drops empty ones and refuses a list that names no scope", () => {
  assert.deepEqual(parseScopes(undefined), [...DEFAULT_SCOPES]);
  assert.deepEqual(parseScopes(["registry.search", "", " registry.search "]), ["registry.search"]);
  assert.throws(() => parseScopes(["", "registry.bogus"]), invalid(/scope "registry\.bogus" is unknown/));
  assert.throws(() => parseScopes(["registry.search", "registry.bogus"]), invalid(/registry\.bogus/));
  for (const none of [[], [""], ["", " "]]) {
    assert.throws(() => parseScopes(none), invalid(/name at least one scope/), JSON.stringify(none));
  }
});

Deno.test("createClient() (the admin API's and the console's) refuses an unknown scope behind an empty item", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, "p1", {});
    await assert.rejects(
      createClient(deps, "p1", { scopes: ["", "registry.bogus"] }),
      invalid(/registry\.bogus/),
    );
    await assert.rejects(createClient(deps, "p1", { scopes: [""] }), invalid(/at least one scope/));
    const { client } = await createClient(deps, "p1", { scopes: ["registry.enrollment", ""] });
    assert.deepEqual(client.scopes, ["registry.enrollment"]);
  } finally {
    deps.close();
  }
});

Deno.test("client create --scopes: an empty item hides no unknown scope, and an empty list is refused (exit 1)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-scopes-" });
  const cli = async (...args: string[]) => {
    const err: string[] = [];
    const out: string[] = [];
    const code = await runCli(args, COMMANDS, {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      env: { DCI_LOG_LEVEL: "error", DCI_DATA_DIR: dataDir },
    });
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  };
  try {
    assert.equal((await cli("migrate")).code, 0);
    assert.equal((await cli("sender", "add", "p1")).code, 0);
    const bogus = await cli("client", "create", "--sender", "p1", "--scopes", ",registry.bogus");
    assert.equal(bogus.code, 1);
    assert.match(bogus.stderr, /scope "registry\.bogus" is unknown/);
    const empty = await cli("client", "create", "--sender", "p1", "--scopes", "");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /name at least one scope/);
    assert.equal(JSON.parse((await cli("client", "list", "--json")).stdout).clients.length, 0);
    const ok = await cli("client", "create", "--sender", "p1", "--scopes", "registry.search,,");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /\(scopes registry\.search\)/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
