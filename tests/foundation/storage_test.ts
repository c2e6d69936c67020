import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { openDatabase, WAL_CHECKPOINT_PAGES } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS, schemaVersion } from "../../src/db/migrate.ts";
import { groupCommit } from "../../src/db/group_commit.ts";
import { stmt } from "../../src/db/statements.ts";
import { testDeps } from "../helpers/deps.ts";
import { KeyError } from "../../src/keys/server_keys.ts";

Deno.test("openDatabase() sets WAL, busy_timeout, foreign_keys and synchronous on a file database", async () => {
  const dir = await Deno.makeTempDir();
  const db = openDatabase(`${dir}/t.sqlite`);
  const get = (p: string) => Object.values(db.prepare(`PRAGMA ${p}`).get()!)[0];
  equal(get("journal_mode"), "wal");
  equal(get("busy_timeout"), 5000);
  equal(get("foreign_keys"), 1);
  equal(get("synchronous"), 1); // NORMAL
  equal(get("wal_autocheckpoint"), WAL_CHECKPOINT_PAGES);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a commit checkpoints the WAL once it holds WAL_CHECKPOINT_PAGES pages, not at SQLite's 1,000", async () => {
  const dir = await Deno.makeTempDir();
  const db = openDatabase(`${dir}/t.sqlite`);
  try {
    db.exec("CREATE TABLE t (x BLOB)");
    // ~6,000 WAL frames in 3,000 small commits (a new page and its parent each). A checkpoint lets the WAL be
    // written again from its start, so its file never grows far past the checkpoint size: ~1,000 pages at
    // SQLite's default, WAL_CHECKPOINT_PAGES here, ~6,000 with no checkpoint at all.
    const insert = db.prepare("INSERT INTO t (x) VALUES (zeroblob(3000))");
    for (let i = 0; i < 3000; i++) insert.run();
    const frames = ((await Deno.stat(`${dir}/t.sqlite-wal`)).size - 32) / (24 + 4096);
    ok(frames > 2000 && frames < WAL_CHECKPOINT_PAGES + 50, `the WAL file holds ${frames} frames`);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `code` in a fresh deno process (`deno eval`): its exit code and output. */
async function denoEval(code: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("openDatabase() in two processes at once waits for the other's lock instead of failing", async () => {
  // The last connection to close a WAL file checkpoints it under a lock; an open that meets it must wait.
  const dir = await Deno.makeTempDir();
  const path = `${dir}/t.sqlite`;
  try {
    const first = openDatabase(path);
    first.exec("CREATE TABLE t (x)");
    first.close();
    const churn = `
      import { openDatabase } from ${JSON.stringify(new URL("../../src/db/sqlite.ts", import.meta.url).href)};
      let failures = 0;
      for (const end = Date.now() + 1500; Date.now() < end;) {
        try {
          const db = openDatabase(${JSON.stringify(path)});
          db.prepare("SELECT COUNT(*) FROM t").get();
          db.close();
        } catch (err) {
          failures++;
          if (failures === 1) console.error(err.message);
        }
      }
      console.log(failures);
    `;
    for (const out of await Promise.all([denoEval(churn), denoEval(churn)])) {
      equal(out.code, 0, out.stderr);
      equal(out.stdout.trim(), "0", out.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate() applies every migration once and records it", () => {
  const db = openDatabase(":memory:");
  const applied = migrate(db);
  deepEqual(applied, MIGRATIONS.map((m) => m.name));
  equal(schemaVersion(db), MIGRATIONS.at(-1)!.version);
  deepEqual(migrate(db), []);
  const rows = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
  equal(rows.length, MIGRATIONS.length);
  db.close();
});

Deno.test("migrate() applies a lower-numbered migration merged after a higher one was applied", () => {
  const db = openDatabase(":memory:");
  const lower = MIGRATIONS.at(-2)!;
  migrate(db, MIGRATIONS.filter((m) => m !== lower));
  equal(db.prepare("SELECT 1 FROM schema_migrations WHERE version = ?").get(lower.version), undefined);
  deepEqual(migrate(db), [lower.name]);
  equal(schemaVersion(db), MIGRATIONS.at(-1)!.version);
  deepEqual(migrate(db), []);
  db.close();
});

Deno.test("migrate() leaves the database as it was when a migration fails", () => {
  const db = openDatabase(":memory:");
  migrate(db);
  const before = schemaVersion(db);
  const broken = [...MIGRATIONS, {
    version: 999,
    name: "0999_broken",
    sql: "CREATE TABLE half_done (id INTEGER); INSERT INTO nowhere VALUES (1);",
  }];
  throws(() => migrate(db, broken), /no such table: nowhere/);
  equal(schemaVersion(db), before);
  equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").get(), undefined);
  db.close();
});

Deno.test("ServerKeys: first key is Ed25519, rotation publishes both, retire removes the old one", async () => {
  const deps = await testDeps();
  try {
    const jwks1 = (await deps.keys.jwks()).keys;
    equal(jwks1.length, 1);
    equal(jwks1[0].kty, "OKP");
    equal(jwks1[0].crv, "Ed25519");
    equal(jwks1[0].use, "sig");
    equal(jwks1[0].alg, "EdDSA");
    const first = deps.keys.active();
    equal(jwks1[0].kid, first.kid);
    ok(first.kid.startsWith("dci-server|"));

    const second = await deps.keys.rotate("rsa-sha256", { now: true });
    deps.clock.advance(2000);
    equal(deps.keys.active().keyId, second.key_id);
    const jwks2 = (await deps.keys.jwks()).keys;
    equal(jwks2.length, 2);
    const rsa = jwks2.find((k) => k.kty === "RSA")!;
    ok(rsa.n && rsa.e);
    equal(rsa.alg, "RS256");

    await rejects(deps.keys.retire(second.key_id), KeyError);
    await rejects(deps.keys.retire("nope"), KeyError);
    equal((await deps.keys.retire(first.keyId)).status, "retired");
    equal((await deps.keys.jwks()).keys.length, 1);
    equal((await deps.keys.list()).length, 2);
    const text = JSON.stringify([await deps.keys.jwks(), await deps.keys.list()]);
    ok(!/private|"d":/.test(text), "no private material in JWKS or listing");
  } finally {
    deps.close();
  }
});

/** Every .ts file under src/ as [path relative to src/, text]. */
async function srcFiles(): Promise<Array<[string, string]>> {
  const files: Array<[string, string]> = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
      else if (e.name.endsWith(".ts")) {
        files.push([`${rel}${e.name}`, await Deno.readTextFile(new URL(e.name, dir))]);
      }
    }
  };
  await walk(new URL("../../src/", import.meta.url), "");
  return files;
}

Deno.test("SQL in src/ writes LIMIT and OFFSET parameters as ?+0 (a bare one is re-prepared on every bind)", async () => {
  const bare: string[] = [];
  // PostgreSQL-only SQL (pg_*.ts, db/pg/) is exempt: the re-prepare is SQLite's; PostgreSQL binds either form alike.
  const sqliteSql = (path: string) => !path.startsWith("db/pg/") && !/(^|\/)pg_[^/]+$/.test(path);
  for (const [path, text] of (await srcFiles()).filter(([path]) => sqliteSql(path))) {
    for (const m of text.matchAll(/\b(LIMIT|OFFSET) \?(?!\+0)/g)) bare.push(`${path}: ${m[0]}`);
  }
  deepEqual(bare, []);
  // And the form works: it limits and offsets like a bare parameter.
  const db = openDatabase(":memory:");
  db.exec("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3), (4)");
  const rows = db.prepare("SELECT n FROM t ORDER BY n LIMIT ?+0 OFFSET ?+0").all(2, 1).map((r) => r.n);
  deepEqual(rows, [2, 3]);
  db.close();
});

Deno.test("statements outside src/db/ come from the stmt() cache, so running one allocates nothing native", async () => {
  // A statement is native memory that is freed only when V8 collects its wrapper, which a small, quiet heap (the
  // worker isolate) does rarely: preparing one per call grew the soak's RSS by megabytes a minute.
  const direct = (await srcFiles()).filter(([path, text]) =>
    !path.startsWith("db/") && /\.prepare\(/.test(text)
  )
    .map(([path]) => path);
  deepEqual(direct, []);
  const db = openDatabase(":memory:");
  const sql = "SELECT 1 AS one";
  equal(stmt(db, sql), stmt(db, sql));
  db.close();

  // And the effect: 20,000 reads through a real store function leave the process's RSS where it was.
  const code = `
    import { openDatabase } from ${JSON.stringify(new URL("../../src/db/sqlite.ts", import.meta.url).href)};
    import { migrate } from ${JSON.stringify(new URL("../../src/db/migrate.ts", import.meta.url).href)};
    import { notificationCounts } from ${
    JSON.stringify(new URL("../../src/subscriptions/notifications.ts", import.meta.url).href)
  };
    const db = openDatabase(":memory:");
    migrate(db);
    for (let i = 0; i < 1000; i++) notificationCounts(db);
    const before = Deno.memoryUsage().rss;
    for (let i = 0; i < 20000; i++) notificationCounts(db);
    console.log(Math.round((Deno.memoryUsage().rss - before) / 1e6));
  `;
  const out = await denoEval(code);
  equal(out.code, 0, out.stderr);
  const grewMb = Number(out.stdout.trim());
  ok(grewMb < 20, `RSS grew ${grewMb} MB over 20,000 reads`);
});

Deno.test("groupCommit() runs one turn's writes in order in one transaction; a failing one is undone alone", async () => {
  const dir = await Deno.makeTempDir();
  const db = openDatabase(`${dir}/t.sqlite`);
  const other = openDatabase(`${dir}/t.sqlite`);
  try {
    db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)");
    const seen: boolean[] = [];
    const put = (n: number) => () => {
      seen.push(db.isTransaction);
      db.prepare("INSERT INTO t VALUES (?)").run(n);
      return n;
    };
    const a = groupCommit(db, put(1));
    const b = groupCommit(db, () => {
      put(2)();
      throw new Error("refused");
    });
    const c = groupCommit(db, put(3));
    equal(db.isTransaction, false, "nothing runs before the turn ends");
    equal(await a, 1);
    await rejects(b, /refused/);
    equal(await c, 3);
    deepEqual(seen, [true, true, true]);
    // Committed by the time the promises resolve: another connection sees 1 and 3, not the undone 2.
    deepEqual(other.prepare("SELECT n FROM t ORDER BY n").all().map((r) => r.n), [1, 3]);
    // A write of a later turn is a group of its own.
    equal(await groupCommit(db, put(4)), 4);
  } finally {
    db.close();
    other.close();
  }
});
