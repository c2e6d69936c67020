/**
 * A CLI command names its data dir by --data-dir or DCI_DATA_DIR: a typo there must not get a new, empty database
 * (an admin token the server never accepts, "(none)" where the server has keys). Only serve, migrate and the
 * data-loading commands (registry import, seed, import-locations) create one; on PostgreSQL the database is
 * DCI_DATABASE_URL's and the data dir holds only this instance's files.
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { TEST_BACKEND } from "../helpers/storage.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("CLI commands at a data dir without a database exit 2 naming it and create nothing (SQLite); on PostgreSQL they run", async () => {
  const root = await Deno.makeTempDir({ prefix: "dci-nodb-" });
  const typo = `${root}/typo`;
  try {
    const commands = [
      ["keys", "list"],
      ["admin-token", "create", "--role", "admin"],
      ["sender", "list", "--json"],
    ];
    for (const args of commands) {
      const r = await runCliProcess(args, { DCI_DATA_DIR: typo });
      if (TEST_BACKEND === "postgres") {
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        continue;
      }
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      const message = `no database at ${typo}/dci.sqlite: check --data-dir / DCI_DATA_DIR`;
      if (args.includes("--json")) {
        assert.equal(r.stdout, "");
        const doc = JSON.parse(r.stderr);
        assert.equal(doc.error.exit_code, 2);
        assert.equal(doc.error.kind, "usage");
        assert.ok(doc.error.message.includes(message), doc.error.message);
      } else {
        assert.ok(r.stderr.includes(message), r.stderr);
        assert.doesNotMatch(r.stdout, /token:/, "no token that the real server would never accept");
      }
      assert.equal(await exists(typo), false, `${args.join(" ")} created ${typo}`);
    }
    if (TEST_BACKEND === "sqlite") {
      // `backup` too, and an empty file (a `touch`, or an earlier crash before the schema) is no database either.
      const backup = await runCliProcess(["backup"], { DCI_DATA_DIR: typo });
      assert.equal(backup.code, 2, backup.stderr);
      await Deno.mkdir(typo);
      await Deno.writeFile(`${typo}/dci.sqlite`, new Uint8Array());
      assert.equal((await runCliProcess(["keys", "list", "--data-dir", typo])).code, 2);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("migrate and registry seed create the database in a new data dir; the other commands then use it", async () => {
  const root = await Deno.makeTempDir({ prefix: "dci-newdb-" });
  try {
    const seeded = await runCliProcess(["registry", "seed", "--demo", "3"], {
      DCI_DATA_DIR: `${root}/seeded`,
    });
    assert.equal(seeded.code, 0, seeded.stderr);
    const stats = await runCliProcess(["registry", "stats", "--json"], { DCI_DATA_DIR: `${root}/seeded` });
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(JSON.parse(stats.stdout).persons, 3);
    const migrated = await runCliProcess(["migrate"], { DCI_DATA_DIR: `${root}/migrated` });
    assert.equal(migrated.code, 0, migrated.stderr);
    const token = await runCliProcess(["admin-token", "create", "--role", "viewer"], {
      DCI_DATA_DIR: `${root}/migrated`,
    });
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /token: dcia_/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
