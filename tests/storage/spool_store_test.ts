/**
 * The bulk search spools, the same contract on both backends (files on SQLite, chunks in PostgreSQL), and on
 * PostgreSQL a spool one instance wrote read by another.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { backendTest, type RawSql } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { iso, newTxn, T0 } from "../helpers/txn_rows.ts";
import type { Storage } from "../../src/db/storage.ts";
import { lookupReader } from "../../src/transactions/bulk_file.ts";
import { receiveUpload } from "../../src/transactions/bulk_upload.ts";
import type { SpoolStore } from "../../src/transactions/spool_store.ts";
import { pgSpoolStore } from "../../src/transactions/pg_spool_store.ts";
import type { PgPool } from "../../src/db/pg/pool.ts";
import { bulkForm } from "../transactions/bulk_support.ts";

const spoolName = () => `${crypto.randomUUID()}.lookups`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `n` lookups as a CSV file: values of 1 to 128 characters, every third with non-ASCII letters. */
function csvFile(n: number): { text: string; lines: string[] } {
  const rows = ["reference_id,type,value"];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const value = `${i % 3 === 0 ? "Ünïcödé-€" : "V"}${i}-${"x".repeat(i % 110)}`;
    rows.push(`r${i},UIN,${value}`);
    // The oracle: the line as the spool has always held it, every character past ASCII as a \u escape.
    lines.push(
      JSON.stringify([`r${i}`, "UIN", value]).replace(
        /[\u007f-\uffff]/g,
        (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
      ),
    );
  }
  return { text: rows.join("\n") + "\n", lines };
}

/** Spools `text` (a CSV file) as `name` the way an upload does: 64 KiB at a time, waiting while a chunk is written. */
async function spoolCsv(spools: SpoolStore, name: string, text: string): Promise<number> {
  const writer = await spools.create(name);
  const reader = lookupReader("csv", writer, { maxItems: 1_000_000 });
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += 65536) {
    reader.write(bytes.subarray(at, at + 65536));
    if (writer.busy) await writer.flush();
  }
  const count = await reader.end();
  await writer.commit();
  return count;
}

/** Every line of spool `name`, read in pages of the sizes of `sizes` in turn; checks each `next` on the way. */
async function readBack(spools: SpoolStore, name: string, sizes: number[]): Promise<string[]> {
  const reader = spools.reader(name);
  const got: string[] = [];
  let offset = 0;
  for (let i = 0;; i++) {
    const page = await reader.read(offset, sizes[i % sizes.length]);
    if (page.lines.length === 0) {
      equal(page.next, offset, "past the end: nothing, and the offset unmoved");
      return got;
    }
    got.push(...page.lines);
    offset += page.lines.reduce((n, l) => n + l.length + 1, 0);
    equal(page.next, offset, `next after line ${got.length}`);
  }
}

const exists = async (s: Storage, name: string) => (await s.spools.reader(name).read(0, 1)).lines.length > 0;
const chunkRows = async (sql: RawSql) =>
  Number((await sql("SELECT count(*) AS n FROM bulk_spool_chunks"))[0].n);

backendTest(
  "spool store: lines written across chunk boundaries are read back by offset, escaped as ever",
  async (s, sql, twin) => {
    const { text, lines } = csvFile(30_000); // about 2.7 MB of lines: three PostgreSQL chunks
    const name = spoolName();
    equal(await spoolCsv(s.spools, name, text), 30_000);
    ok(lines[0].includes("\\u00dcn\\u00efc\\u00f6d\\u00e9-\\u20ac0"), lines[0]);
    deepEqual(await readBack(s.spools, name, [1, 7, 333, 4999]), lines);
    // Any offset a page returned is a place to resume, from a reader that did not write the spool.
    const mid = lines.slice(0, 17_001).reduce((n, l) => n + l.length + 1, 0);
    const other = twin().spools.reader(name);
    deepEqual(await other.read(mid, 3), {
      lines: lines.slice(17_001, 17_004),
      next: mid + lines.slice(17_001, 17_004).reduce((n, l) => n + l.length + 1, 0),
    });
    // Back to the start: a PostgreSQL reader keeps the chunk it read last, yet serves any offset.
    deepEqual(await other.read(0, 2), {
      lines: lines.slice(0, 2),
      next: lines[0].length + lines[1].length + 2,
    });
    if (s.kind === "postgres") {
      const chunks = await sql(
        "SELECT start_offset AS start, length(text) AS n, right(text, 1) AS last FROM bulk_spool_chunks " +
          "WHERE spool = ? ORDER BY start_offset",
        [name],
      );
      ok(chunks.length >= 3, `${chunks.length} chunks`);
      let at = 0;
      for (const c of chunks) {
        deepEqual([c.start, c.last], [at, "\n"], "chunks follow one another and hold whole lines");
        ok(Number(c.n) < (1 << 20) + 1024, `a chunk of ${c.n} characters`);
        at += Number(c.n);
      }
    }
  },
);

backendTest(
  "spool store: an aborted spool and an upload cut halfway leave nothing behind",
  async (s, sql) => {
    const name = spoolName();
    const writer = await s.spools.create(name);
    for (let i = 0; i < 40_000; i++) writer.line(`["r${i}","UIN","${"v".repeat(40)}"]`); // past one chunk
    await writer.flush();
    await writer.abort();
    equal(await exists(s, name), false);

    const { text } = csvFile(20_000);
    const form = await bulkForm("s1", { format: "csv", file: text, senderUri: "http://127.0.0.1:9/cb" });
    const cut = spoolName();
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (at < form.bytes.length * 0.8) return c.enqueue(form.bytes.slice(at, at += 65536));
        // Cut once lines are stored (on PostgreSQL: a chunk), so the abort has something to remove.
        for (let i = 0; i < 1000 && !await exists(s, cut); i++) await sleep(10);
        ok(await exists(s, cut), "lines were stored before the cut");
        c.error(new Error("connection reset"));
      },
    });
    await rejects(
      receiveUpload(
        new Request("http://localhost/", {
          method: "POST",
          headers: { "content-type": form.contentType },
          body,
        }),
        { spools: s.spools, spool: cut, maxItems: 1_000_000, maxBytes: 1 << 30 },
      ),
    );
    equal(await exists(s, cut), false);
    if (s.kind === "postgres") equal(await chunkRows(sql), 0, "no orphan chunk");
  },
);

backendTest(
  "spool store: the sweep removes old spools no bulk search reads, and only those",
  async (s, sql) => {
    const started = Date.now();
    await s.senders.insert("s1", { name: "s1", created_at: iso(T0), updated_at: iso(T0) });
    const [orphan, pending, finished, cancelled] = [spoolName(), spoolName(), spoolName(), spoolName()];
    for (const name of [orphan, pending, finished, cancelled]) {
      await spoolCsv(s.spools, name, csvFile(3).text);
    }
    for (
      const [name, built, sender] of [[pending, 1, "s1"], [finished, 2, "s1"], [
        cancelled,
        1,
        "gone",
      ]] as const
    ) {
      const file = {
        spool: name,
        file_name: "f.csv",
        file_format: "csv" as const,
        items_total: 3,
        page_size: 2,
      };
      // "gone": a sender since deleted, whose search was cancelled (never resumed), so its spool is not kept.
      const { row } = await s.transactions.insert(newTxn(sender, name), file);
      await sql("UPDATE bulk_searches SET pages_built = ? WHERE txn = ?", [built, row.id]);
      if (sender === "gone") {
        await sql("UPDATE transactions SET state = 'callback_failed' WHERE id = ?", [row.id]);
      }
    }
    equal(await s.spools.sweep(started - 60_000), 0, "every spool is younger than the cutoff");
    equal(await s.spools.sweep(Date.now() + 60_000), 3);
    deepEqual(
      await Promise.all([orphan, pending, finished, cancelled].map((n) => exists(s, n))),
      [false, true, false, false],
      "the spool of a search with a page left to build stays",
    );
    await s.spools.remove(pending);
    await s.spools.remove(pending); // a missing one is no error
    equal(await exists(s, pending), false);
    if (s.kind === "postgres") equal(await chunkRows(sql), 0);
  },
);

backendTest(
  "spool store: touch() keeps a spool still arriving younger than the sweep's cutoff",
  async (s) => {
    const name = spoolName();
    const writer = await s.spools.create(name);
    for (let i = 0; i < 40_000; i++) writer.line(`["r${i}","UIN","${"v".repeat(40)}"]`); // a chunk stored
    await writer.flush();
    await sleep(30); // file times are coarse: well apart
    const cutoff = Date.now();
    await sleep(30);
    writer.touch();
    await writer.flush();
    equal(await s.spools.sweep(cutoff), 0, "touched after the cutoff");
    equal(await s.spools.sweep(Date.now() + 60_000), 1, "an upload never accepted goes once old");
    await writer.abort();
  },
);

Deno.test("spool store [postgres]: a spool one instance wrote is read, resumed and removed by another", async () => {
  await withPgInstances(2, async ([a, b], sql) => {
    const { text, lines } = csvFile(25_000);
    const name = spoolName();
    await spoolCsv(a.spools, name, text);
    deepEqual(await readBack(b.spools, name, [1000]), lines);
    const page = await b.spools.reader(name).read(0, 10_000);
    deepEqual(await a.spools.reader(name).read(page.next, 2), await b.spools.reader(name).read(page.next, 2));
    await b.spools.remove(name);
    equal(await exists(a, name), false);
    equal(await chunkRows(sql), 0);
  });
});

Deno.test("receiveUpload() on a PostgreSQL spool reads no further while a chunk is being written", async () => {
  // A pool whose INSERTs wait until released: the writes the upload must wait for, without a database.
  const chunks: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const pool = {
    query: async (q: { text: string; values: unknown[] }) => {
      if (q.text.startsWith("INSERT")) {
        await held;
        chunks.push(String(q.values[2]));
      }
      return { rows: [], rowCount: 1 };
    },
  } as unknown as PgPool;
  const { text, lines } = csvFile(60_000); // about 5.5 MB of lines
  const form = await bulkForm("s1", { format: "csv", file: text, senderUri: "http://127.0.0.1:9/cb" });
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= form.bytes.length) return c.close();
      c.enqueue(form.bytes.slice(sent, sent += 65536));
    },
  });
  const received = receiveUpload(
    new Request("http://localhost/", { method: "POST", headers: { "content-type": form.contentType }, body }),
    { spools: pgSpoolStore(pool), spool: spoolName(), maxItems: 1_000_000, maxBytes: 1 << 30 },
  );
  await sleep(300);
  // One chunk cut and waiting, the next filling: the rest of the file is still with the client.
  ok(sent < 3 * 2 ** 20, `${sent} of ${form.bytes.length} bytes read while the first chunk waits`);
  release();
  equal((await received).items, 60_000);
  equal(chunks.join(""), lines.join("\n") + "\n");
});

Deno.test("bulk spool: an in-memory process's spool directory goes with the process", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "dci-spool-exit-" });
  try {
    const module = new URL("../../src/transactions/bulk_spool_dir.ts", import.meta.url).href;
    const script = `import { bulkSpoolDir } from ${JSON.stringify(module)};
      const dir = bulkSpoolDir({ dataDir: ":memory:" });
      Deno.writeTextFileSync(dir + "/x.lookups", "[]\\n");
      console.log(dir);
      if (Deno.args[0] === "exit") Deno.exit(0);`;
    for (const args of [[], ["exit"]]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-check", script, ...args],
        env: { TMPDIR: tmp },
      }).output();
      equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const dir = new TextDecoder().decode(out.stdout).trim();
      ok(dir.startsWith(`${tmp}/dci-bulk-`), dir);
      // Before, the directory and its spooled lookups stayed in the temp directory for good.
      equal(await Deno.stat(dir).then(() => true, () => false), false, `${dir} left behind`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
