/** The CLI's lists page by keyset: a full page says how to go on, and `--before` goes on from it. */
import assert from "node:assert/strict";
import { runCliIn, runCliOk } from "../helpers/cli.ts";

Deno.test("subscription, notification and txn lists: a full page notes '(more: --before N)', and --before pages on", async () => {
  const dataDir = await Deno.makeTempDir();
  const env = { DCI_DATA_DIR: dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" };
  const cli = (...args: string[]) => runCliOk(args, env);
  try {
    await cli("migrate");
    await cli("sender", "add", "p1", "--callback-url", "http://127.0.0.1:9");
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const made = await cli(
        "subscription",
        "create",
        "--sender",
        "p1",
        "--event",
        "UPDATE",
        "--record-type",
        "Person",
        "--code",
        `sub-${i}`,
        "--filter",
        JSON.stringify({ type: "UIN", value: `U-${i}` }),
        "--json",
      );
      codes.push(JSON.parse(made.stdout).code);
    }
    const first = await cli("subscription", "list", "--limit", "2");
    const more = /\(more: --before (\d+)\)/.exec(first.stderr);
    assert.ok(more, first.stderr);
    assert.match(first.stdout, /sub-2[\s\S]*sub-1/);
    const rest = await cli("subscription", "list", "--limit", "2", "--before", more[1], "--json");
    const doc = JSON.parse(rest.stdout);
    assert.deepEqual(doc.items.map((s: { code: string }) => s.code), ["sub-0"]);
    assert.equal(doc.next_before, null);
    assert.equal((await cli("subscription", "list", "--limit", "2", "--before", more[1])).stderr, "");
    // The same flag on the other two lists (nothing to page here: no note).
    assert.equal((await cli("notification", "list", "--before", "5")).stderr, "");
    assert.equal(JSON.parse((await cli("txn", "list", "--before", "5", "--json")).stdout).next_before, null);
    const bad = (await runCliIn(["txn", "list", "--before", "x"], env)).code;
    assert.equal(bad, 2);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
