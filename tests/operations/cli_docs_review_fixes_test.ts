/**
 * What the documentation review found the CLI saying wrongly: a data dir without a database is bad usage (kind
 * "usage", exit 2), a setting that is no number says "expected a whole number", `sender key add --alg rsa` is
 * rsa-sha256, a CSV column error points to the README section that has the table, and `subscription create
 * --event` lists what each registry takes.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { runCliIn } from "../helpers/cli.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { parsePublicKey } from "../../src/senders/keys.ts";
import { checkHeader } from "../../src/registry/csv.ts";

function cli(args: string[], dataDir: string) {
  // A loopback callback URL is allowed, so no name is ever resolved.
  return runCliIn(args, { DCI_DATA_DIR: dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" });
}

const ed = generateKeyPairSync("ed25519");
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ED_PEM = ed.publicKey.export({ format: "pem", type: "spki" }) as string;
const RSA_PEM = rsa.publicKey.export({ format: "pem", type: "spki" }) as string;

Deno.test("runCli() reports a data dir without a database as kind usage with exit code 2 under --json", async () => {
  const root = await Deno.makeTempDir({ prefix: "dci-nodb-kind-" });
  try {
    const r = await cli(["sender", "list", "--json"], `${root}/missing`);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    const { error } = JSON.parse(r.stderr);
    assert.equal(error.kind, "usage");
    assert.equal(error.exit_code, 2);
    assert.match(error.message, /no database at .*\/missing\/dci\.sqlite: check --data-dir \/ DCI_DATA_DIR/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadConfig() and the CLI refuse a whole-number setting that is no number: expected a whole number", async () => {
  for (const value of ["abc", "1.5"]) {
    assert.throws(
      () => loadConfig({}, { DCI_PORT: value }),
      (e: unknown) => e instanceof ConfigError && e.message.includes("expected a whole number"),
      value,
    );
  }
  const root = await Deno.makeTempDir({ prefix: "dci-port-" });
  try {
    const r = await cli(["sender", "list", "--port", "abc", "--json"], root);
    assert.equal(r.code, 2, r.stderr);
    const { error } = JSON.parse(r.stderr);
    assert.equal(error.kind, "config");
    assert.match(error.message, /--port="abc": expected a whole number/);
    assert.doesNotMatch(error.message, /NaN/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("parsePublicKey() takes rsa as rsa-sha256 and names the accepted algs for an unknown one", () => {
  assert.equal(parsePublicKey(RSA_PEM, "rsa").alg, "rsa-sha256");
  assert.equal(parsePublicKey(RSA_PEM, "RS256").alg, "rsa-sha256");
  assert.equal(parsePublicKey(ED_PEM, "EdDSA").alg, "ed25519");
  assert.throws(() => parsePublicKey(ED_PEM, "rsa"), /alg "rsa" does not match a ed25519 key/);
  assert.throws(
    () => parsePublicKey(RSA_PEM, "ES256"),
    /alg "ES256" must be ed25519 \(EdDSA\) or rsa-sha256 \(RS256, rsa\)/,
  );
});

Deno.test("sender key add --alg rsa adds an RSA key as rsa-sha256", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-alg-rsa-" });
  try {
    assert.equal((await cli(["migrate"], dir)).code, 0);
    assert.equal((await cli(["sender", "add", "alice"], dir)).code, 0);
    await Deno.writeTextFile(`${dir}/rsa.pub`, RSA_PEM);
    const r = await cli([
      "sender",
      "key",
      "add",
      "alice",
      "k1",
      "--file",
      `${dir}/rsa.pub`,
      "--alg",
      "rsa",
      "--json",
    ], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).alg, "rsa-sha256");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkHeader() points an unknown CSV column to the README section holding the column table", async () => {
  assert.throws(
    () => checkHeader(["id", "bogus"]),
    /CSV column "bogus" .*\(README, "Loading data": the CSV column table\)/,
  );
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("\n### Loading data\n"));
  assert.ok(readme.includes("\n### Loading data\n"));
  assert.match(section.slice(0, section.indexOf("\n### ", 5)), /\n\| Column +\| Meaning/);
});

Deno.test("subscription create --help lists the crvs vital events and the ibr events, which create accepts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-sub-events-" });
  try {
    const help = await cli(["subscription", "create", "--help"], dir);
    assert.match(
      help.stdout,
      /REGISTER, UPDATE or DELETE; crvs also its vital events \(LiveBirth, Death, FetalDeath, Marriage, Divorce, Adoption\); ibr only enrollement or enrollement_status_change \(required\)/,
    );
    assert.equal((await cli(["migrate"], dir)).code, 0);
    assert.equal(
      (await cli(["sender", "add", "alice", "--callback-url", "http://127.0.0.1:9/cb"], dir)).code,
      0,
    );
    const create = (registry: string, event: string) =>
      cli([
        "subscription",
        "create",
        "--sender",
        "alice",
        "--registry",
        registry,
        "--event",
        event,
        "--record-type",
        "Person",
      ], dir);
    const birth = await create("crvs", "LiveBirth");
    assert.equal(birth.code, 0, birth.stderr);
    const enrol = await create("ibr", "enrollement_status_change");
    assert.equal(enrol.code, 0, enrol.stderr);
    assert.notEqual((await create("ibr", "REGISTER")).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
