/**
 * The CLI with DCI_DATABASE_URL: `migrate` applies the PostgreSQL migrations (once, then "up to date") and a
 * write command's audit entry lands in PostgreSQL, not in a SQLite file of the data dir.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { runCli } from "../../src/cli/cli.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { newPgDatabase } from "../helpers/postgres.ts";

Deno.test("CLI on PostgreSQL: migrate applies each migration once and reports the schema version", async () => {
  const url = await newPgDatabase("c");
  const dataDir = await Deno.makeTempDir();
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, COMMANDS, {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      env: { DCI_LOG_LEVEL: "error", DCI_DATA_DIR: dataDir, DCI_DATABASE_URL: url },
    });
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  };
  try {
    const first = await cli("migrate", "--json");
    equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    deepEqual(report.applied, PG_MIGRATIONS.map((m) => m.name));
    equal(report.schema_version, Math.max(...PG_MIGRATIONS.map((m) => m.version)));
    const again = JSON.parse((await cli("migrate", "--json")).stdout);
    deepEqual(again.applied, []);
    // Backups of PostgreSQL are the database's own: refused with what to use instead.
    for (const args of [["backup"], ["restore", "x.sqlite"]]) {
      const refused = await cli(...args);
      equal(refused.code, 2, refused.stderr);
      match(refused.stderr, /pg_dump/);
    }
    // Nothing was written to the data dir: the database is PostgreSQL's.
    deepEqual(
      [...Deno.readDirSync(dataDir)].map((e) => e.name).filter((n) => n.startsWith("dci.sqlite")),
      [],
    );
    const pool = openPgPool(url, { max: 1 });
    try {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM schema_migrations");
      ok(rows[0].n >= 1);
    } finally {
      await pool.end();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
