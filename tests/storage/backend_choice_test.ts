/** DCI_DATABASE_URL: validated with its value redacted; with it the server opens PostgreSQL and no SQLite or KV. */
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { ConfigError, testConfig } from "../../src/config.ts";
import { closeDeps, openDeps } from "../../src/deps.ts";
import { newPgDatabase } from "../helpers/postgres.ts";
import { readiness } from "../../src/system/routes.ts";

Deno.test("DCI_DATABASE_URL: a value that is not a postgres:// URL is refused, and the error never shows it", () => {
  throws(() => testConfig({ databaseUrl: "mysql://root:hunter2@db/x" }), ConfigError);
  try {
    testConfig({ databaseUrl: "mysql://root:hunter2@db/x" });
  } catch (e) {
    const text = String(e);
    match(text, /DCI_DATABASE_URL=\[redacted\]/);
    ok(!text.includes("hunter2"));
  }
  equal(
    testConfig({ databaseUrl: "postgres://u:p@127.0.0.1:5432/dci" }).databaseUrl,
    "postgres://u:p@127.0.0.1:5432/dci",
  );
  equal(testConfig().databaseUrl, "");
});

Deno.test("openDeps: the embedded default is SQLite with KV; DCI_DATABASE_URL opens PostgreSQL alone", async () => {
  const deps = await openDeps(testConfig());
  try {
    equal(deps.storage.kind, "sqlite");
    ok(deps.db && deps.kv);
    const id = await deps.storage.audit.record({
      source: "cli",
      actor: { kind: "cli", id: "op" },
      action: "x.y",
    }, 0);
    equal((await deps.storage.audit.list()).items[0].id, id);
  } finally {
    await closeDeps(deps);
  }
  const url = await newPgDatabase("b");
  const dataDir = await Deno.makeTempDir();
  const pg = await openDeps(testConfig({ databaseUrl: url, dataDir }));
  try {
    equal(pg.storage.kind, "postgres");
    equal(pg.db, undefined);
    equal(pg.kv, undefined);
    // Nothing of SQLite or KV in the data dir: the database is PostgreSQL's.
    deepEqual([...Deno.readDirSync(dataDir)].map((e) => e.name).filter((n) => /sqlite/.test(n)), []);
    const id = await pg.storage.audit.record({
      source: "cli",
      actor: { kind: "cli", id: "op" },
      action: "x.y",
    }, 0);
    equal((await pg.storage.audit.list()).items[0].id, id);
    ok(pg.keys.active().kid);
    deepEqual(await readiness(pg), { status: "ok", checks: { database: "ok", kv: "none", storage: "ok" } });
  } finally {
    await closeDeps(pg);
    await Deno.remove(dataDir, { recursive: true });
  }
  // A database that cannot be reached: refused at start, the password never in the message.
  await rejects(
    openDeps(testConfig({ databaseUrl: "postgres://u:secret@127.0.0.1:1/dci" })),
    (e: Error) => /ECONNREFUSED/.test(String(e)) && !String(e).includes("secret"),
  );
});
