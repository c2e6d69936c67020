/**
 * The import upload spools (src/registry/imports/spool_store.ts, pg_spool_store.ts), the same contract on both
 * backends (files on SQLite, bytea chunks in PostgreSQL), and on PostgreSQL an upload one instance received run to
 * its end by another instance's runner.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { backendTest, type RawSql } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { testDeps } from "../helpers/deps.ts";
import type { Storage } from "../../src/db/storage.ts";
import { IMPORT_CHUNK } from "../../src/registry/imports/pg_spool_store.ts";
import { startImportRunner } from "../../src/registry/imports/runner.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `bytes` as a body arriving in pieces of `piece` bytes (odd, so pieces straddle the chunk boundaries). */
function body(bytes: Uint8Array, piece = 100_003, fail?: Error): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at < bytes.length) return c.enqueue(bytes.slice(at, at += piece));
      if (fail) c.error(fail);
      else c.close();
    },
  });
}

/** Every byte of spool `name`, from the path or the stream its store gives, or undefined when it is gone. */
async function readSpool(s: Storage, name: string): Promise<Uint8Array | undefined> {
  const source = await s.importSpools.source(name);
  if (source === undefined) return undefined;
  if (typeof source === "string") return await Deno.readFile(source);
  return new Uint8Array(await new Response(source).arrayBuffer());
}

/** About 2.3 chunks of text: ASCII and multi-byte characters, so chunk boundaries cut characters too. */
function upload(): Uint8Array {
  const rows = ["id,given_name"];
  for (let i = 0, size = 0; size < IMPORT_CHUNK * 2.3; i++) {
    rows.push(`S-${i},Ünïcödé-€-${i}`);
    size += rows[i + 1].length + 6; // 3 characters of 2 bytes, 1 of 3, the newline
  }
  return new TextEncoder().encode("\uFEFF" + rows.join("\n") + "\n");
}

const chunkRows = async (sql: RawSql) =>
  Number((await sql("SELECT count(*) AS n FROM import_spool_chunks"))[0].n);

const job = (spoolFile: string) => ({
  registry: "social",
  format: "csv" as const,
  fileName: "f.csv",
  bytes: 1,
  spoolFile,
});

backendTest(
  "import spool store: an upload across chunk boundaries reads back exactly, on any instance",
  async (s, sql, twin) => {
    const bytes = upload();
    const spooled = await s.importSpools.write(body(bytes));
    deepEqual(
      [spooled.bytes, spooled.firstChar],
      [bytes.length, "i"],
      "the size, and the first character past the BOM",
    );
    ok(/^import-[0-9a-f-]{36}\.upload$/.test(spooled.name), spooled.name);
    deepEqual(await readSpool(s, spooled.name), bytes);
    deepEqual(await readSpool(twin(), spooled.name), bytes, "another instance reads it too");
    if (s.kind === "postgres") {
      const sizes = await sql(
        "SELECT seq, length(bytes) AS n FROM import_spool_chunks WHERE spool = ? ORDER BY seq",
        [
          spooled.name,
        ],
      );
      deepEqual(sizes.map((r) => Number(r.seq)), [0, 1, 2]);
      deepEqual(
        sizes.slice(0, 2).map((r) => Number(r.n)),
        [IMPORT_CHUNK, IMPORT_CHUNK],
        "full chunks but the last",
      );
    }
    await s.importSpools.remove(spooled.name);
    equal(await readSpool(s, spooled.name), undefined);
    await s.importSpools.remove(spooled.name); // gone already: no error
    if (s.kind === "postgres") equal(await chunkRows(sql), 0);
  },
);

backendTest("import spool store: an upload that fails halfway leaves nothing behind", async (s, sql) => {
  const cut = new Error("connection reset");
  // Past one chunk before the failure, so PostgreSQL has a row to remove.
  await rejects(s.importSpools.write(body(upload(), 100_003, cut)), cut);
  equal(await s.importSpools.sweep(Number.MAX_SAFE_INTEGER), 0, "no spool is left for the sweep");
  if (s.kind === "postgres") equal(await chunkRows(sql), 0);
});

backendTest(
  "import spool store: the sweep removes old spools of no open job, never an open job's nor a young one",
  async (s) => {
    const write = async () => (await s.importSpools.write(body(new TextEncoder().encode("id\nX\n")))).name;
    const [queued, running, ended, orphan] = [await write(), await write(), await write(), await write()];
    const now = "2026-03-01T10:00:00.000Z";
    await s.importJobs.create(job(queued), now);
    await s.importJobs.markRunning(await s.importJobs.create(job(running), now), now);
    await s.importJobs.finish(await s.importJobs.create(job(ended), now), now, "stopped");
    await sleep(20);
    const before = Date.now();
    await sleep(20);
    const young = await write(); // an upload still arriving, or about to get its job
    equal(await s.importSpools.sweep(before), 2);
    for (
      const [name, kept] of [[queued, true], [running, true], [ended, false], [orphan, false], [
        young,
        true,
      ]] as const
    ) {
      equal((await readSpool(s, name)) !== undefined, kept, `${name} ${kept ? "kept" : "swept"}`);
    }
    equal(await s.importSpools.sweep(before), 0);
  },
);

Deno.test("import spools on PostgreSQL: an upload one instance received, another instance's runner imports", async () => {
  await withPgInstances(2, async ([receiver, runner], sql) => {
    const rows = ["id,given_name,surname,sex,birth_date,id.UIN"];
    const name = "Ana".padEnd(80, "a"); // long rows: past one chunk with few records to write
    for (let i = 0; i < 12_000; i++) rows.push(`HA-${i},${name},Banda,female,1990-01-02,UIN-HA-${i}`);
    const bytes = new TextEncoder().encode(rows.join("\n") + "\n"); // past one chunk
    ok(bytes.length > IMPORT_CHUNK, `${bytes.length} bytes`);
    const spooled = await receiver.importSpools.write(body(bytes, 65_536));
    const id = await receiver.importJobs.create(
      { ...job(spooled.name), bytes: spooled.bytes },
      new Date().toISOString(),
    );
    ok(await chunkRows(sql) >= 2);
    const deps = await testDeps();
    try {
      deps.storage = runner; // the other instance: its own pool; it never saw the upload
      const imports = startImportRunner(deps);
      await imports.idle();
      await imports.stop();
    } finally {
      deps.close();
    }
    const done = (await receiver.importJobs.get(id))!;
    deepEqual([done.state, done.error, done.read, done.registered], ["done", null, 12_000, 12_000]);
    equal(await chunkRows(sql), 0, "the spool is removed when its job ends");
  });
});

Deno.test("import runner: a spool stream that fails to read with a connection fault pauses the job; it resumes and completes", async () => {
  const deps = await testDeps();
  try {
    const rows = ["id,given_name,surname,sex,birth_date,id.UIN"];
    for (let i = 0; i < 3000; i++) rows.push(`RF-${i},Ana,Banda,female,1990-01-02,UIN-RF-${i}`);
    const bytes = new TextEncoder().encode(rows.join("\n") + "\n");
    const spools = deps.storage.importSpools;
    const spooled = await spools.write(body(bytes));
    const id = await deps.storage.importJobs.create(
      { ...job(spooled.name), bytes: spooled.bytes },
      new Date().toISOString(),
    );
    let reads = 0;
    // The first read gives half the file, then the connection drops (as a PostgreSQL spool's read would).
    const cut = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const source = () =>
      Promise.resolve(reads++ > 0 ? body(bytes) : body(bytes.slice(0, bytes.length / 2), 65_536, cut));
    deps.storage = { ...deps.storage, importSpools: { ...spools, source } };
    const imports = startImportRunner(deps, { retryDelaysMs: [10] });
    await imports.idle();
    await imports.stop();
    const done = (await deps.storage.importJobs.get(id))!;
    deepEqual([done.state, done.error, done.read, done.registered, reads], ["done", null, 3000, 3000, 2]);
  } finally {
    deps.close();
  }
});
