import assert from "node:assert/strict";
import { join } from "node:path";
import { testDeps } from "../helpers/deps.ts";
import { startServerProcess } from "../helpers/server.ts";
import { sweepBulkSpool } from "../../src/transactions/bulk_spool_sweep.ts";
import { insertTransaction } from "../../src/transactions/store.ts";
import { insertBulk } from "../../src/transactions/bulk_store.ts";
import { receiveUpload } from "../../src/transactions/bulk_upload.ts";
import { sqliteSpoolStore } from "../../src/transactions/spool_store.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import type { SqliteDeps } from "../../src/deps.ts";
import { bulkForm } from "./bulk_support.ts";
import { BulkFileError } from "../../src/transactions/bulk_file.ts";
import { createTestSender } from "../helpers/auth.ts";
import { deleteSender } from "../../src/senders/offboarding.ts";
import { addSender } from "../../src/senders/store.ts";

const GRACE_S = 3600;

/** A spool file named as the upload route names them, last modified at `mtimeMs`. */
async function spoolFile(dir: string, mtimeMs: number, name = `${crypto.randomUUID()}.lookups`) {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  await Deno.writeTextFile(path, '["1","UIN","TEST-001"]\n');
  await Deno.utime(path, new Date(mtimeMs), new Date(mtimeMs));
  return { name, path };
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** Waits for `cond` (a state the code under test reaches by itself), failing after 10 s without it. */
async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not seen: ${what}`);
}

/** A stored bulk search (transaction row and bulk row) of `sender` over spool file `spool`, of two pages. */
function bulkSearch(deps: SqliteDeps, spool: string, pagesBuilt: number, sender: string): void {
  const now = new Date(deps.clock.now()).toISOString();
  const id = crypto.randomUUID();
  const { row } = insertTransaction(deps.db, {
    sender_id: sender,
    transaction_id: id,
    dedupe_key: id,
    message_id: id,
    correlation_id: crypto.randomUUID(),
    action: "search",
    registry: "social",
    callback_url: "http://127.0.0.1:9/cb",
    request_header: "{}",
    request_message: "{}",
    ack: "{}",
    reference_ids: [],
    now,
  });
  insertBulk(deps.db, {
    txn: row.id,
    spool,
    file_name: "f.csv",
    file_format: "csv",
    items_total: 2,
    page_size: 1,
  });
  deps.db.prepare("UPDATE bulk_searches SET pages_built = ? WHERE txn = ?").run(pagesBuilt, row.id);
}

Deno.test("sweepBulkSpool() removes spool files of no live bulk search once older than the grace age, and nothing else", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-sweep-" });
  const deps = await testDeps({ dataDir, bulkSpoolGraceSeconds: String(GRACE_S) });
  try {
    const dir = join(dataDir, "bulk");
    const now = deps.clock.now();
    const old = now - (GRACE_S + 60) * 1000;
    const strayOld = await spoolFile(dir, old); // an upload that crashed or was refused long ago
    const strayYoung = await spoolFile(dir, now - (GRACE_S - 60) * 1000); // maybe an upload still arriving
    const sender = (await createTestSender(deps)).senderId;
    const pending = await spoolFile(dir, old); // a search with a page still to build (running or resumable)
    bulkSearch(deps, pending.name, 1, sender);
    const finished = await spoolFile(dir, old); // every page built: the file outlived its search
    bulkSearch(deps, finished.name, 2, sender);
    // A search cut short by its sender's deletion: never resumed (a retry is refused), whoever takes the id next.
    const gone = (await createTestSender(deps)).senderId;
    const cancelled = await spoolFile(dir, old);
    bulkSearch(deps, cancelled.name, 1, gone);
    await deleteSender(deps, gone);
    deps.clock.advance(1);
    await addSender(deps, gone, { name: "the id registered again" });
    const other = await spoolFile(dir, old, "notes.txt"); // not a spool file's name

    assert.equal(await sweepBulkSpool(deps), 3);
    assert.equal(await exists(strayOld.path), false);
    assert.equal(await exists(finished.path), false);
    assert.equal(await exists(cancelled.path), false);
    assert.equal(await exists(strayYoung.path), true);
    assert.equal(await exists(pending.path), true);
    assert.equal(await exists(other.path), true);

    // The young one goes once it is past the grace age itself; the pending one stays as long as it is needed.
    deps.clock.advance(120_000);
    assert.equal(await sweepBulkSpool(deps), 1);
    assert.equal(await exists(strayYoung.path), false);
    assert.equal(await exists(pending.path), true);
  } finally {
    deps.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("sweepBulkSpool() leaves a data dir that never took an upload without a spool directory", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-none-" });
  const deps = await testDeps({ dataDir });
  try {
    assert.equal(await sweepBulkSpool(deps), 0);
    assert.equal(await exists(join(dataDir, "bulk")), false);
  } finally {
    deps.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("server start-up removes an orphaned spool file past the grace age and keeps a young one", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-start-" });
  const dir = join(dataDir, "bulk");
  const strayOld = await spoolFile(dir, Date.now() - 2 * 3600_000);
  const strayYoung = await spoolFile(dir, Date.now());
  const server = await startServerProcess({
    dataDir,
    env: { DCI_WORKER: "true", DCI_BULK_SPOOL_GRACE_SECONDS: "3600" },
  });
  try {
    const line = await server.waitForLog((l) => l.msg === "orphaned bulk spool files removed");
    assert.equal(line.count, 1);
    assert.equal(await exists(strayOld.path), false);
    assert.equal(await exists(strayYoung.path), true);
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

/**
 * A two-lookup CSV upload received from a stream the test feeds (`feed`), into a spool of `dataDir`: the
 * receiveUpload promise, the spool's path, the form's bytes.
 */
async function streamedUpload(
  db: ReturnType<typeof openDatabase>,
  dataDir: string,
  options: { touchEveryMs?: number; idleMs?: number; maxMs?: number },
) {
  const form = await bulkForm("s1", {
    format: "csv",
    file: "type,value\nUIN,TEST-001\nUIN,TEST-002\n",
    senderUri: "http://127.0.0.1:9/cb",
  });
  let feed!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) });
  const spool = `${crypto.randomUUID()}.lookups`;
  const received = receiveUpload(
    new Request("http://localhost/", { method: "POST", headers: { "content-type": form.contentType }, body }),
    { spools: sqliteSpoolStore(db, dataDir), spool, maxItems: 10, maxBytes: 1 << 20, ...options },
  );
  return { received, feed, bytes: form.bytes, spoolPath: join(dataDir, "bulk", spool) };
}

Deno.test("receiveUpload() keeps an arriving upload's spool file young while bytes come in, before any lookup is written", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-touch-" });
  const db = openDatabase(":memory:");
  try {
    const { received, feed, bytes, spoolPath } = await streamedUpload(db, dataDir, { touchEveryMs: 0 });
    const cut = bytes.length - 20; // inside the file part: its lookups are not written until the end
    feed.enqueue(bytes.slice(0, cut / 2));
    await until(() => exists(spoolPath), "the spool file is created");
    await Deno.utime(spoolPath, new Date(0), new Date(0)); // as if the upload had stalled long ago
    assert.equal((await Deno.stat(spoolPath)).size, 0);
    feed.enqueue(bytes.slice(cut / 2, cut));
    // The spool holds no lookup yet, so a recent time can only be the touch of the bytes just sent.
    await until(async () => (await Deno.stat(spoolPath)).mtime!.getTime() > 0, "the spool file is touched");
    assert.equal((await Deno.stat(spoolPath)).size, 0);
    feed.enqueue(bytes.slice(cut));
    feed.close();
    assert.equal((await received).items, 2);
  } finally {
    db.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("receiveUpload() refuses an upload that sends nothing for idleMs, and removes its spool", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-idle-" });
  const db = openDatabase(":memory:");
  try {
    const { received, feed, bytes, spoolPath } = await streamedUpload(db, dataDir, { idleMs: 1000 });
    // Bytes every 100 ms keep it going past the idle time (a loaded machine's late turn stays far below it); then
    // it stalls.
    for (let i = 0; i < 15; i++) {
      feed.enqueue(bytes.slice(i * 10, i * 10 + 10));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await exists(spoolPath), true, "still arriving after 1.5 s");
    await assert.rejects(received, (err: unknown) => {
      assert.ok(err instanceof BulkFileError);
      assert.equal(err.code, "err.request.bad");
      assert.match(err.message, /sent nothing for 1 s/);
      return true;
    });
    assert.equal(await exists(spoolPath), false, "its spool is removed");
  } finally {
    db.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("receiveUpload() refuses an upload that takes longer than maxMs though bytes keep coming", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-max-" });
  const db = openDatabase(":memory:");
  try {
    const { received, feed, bytes, spoolPath } = await streamedUpload(db, dataDir, {
      idleMs: 3000, // far above the feed's pace, so a loaded machine's late turn cannot read as idle
      maxMs: 500,
    });
    let refused: unknown;
    received.catch((err) => refused = err);
    for (let i = 0; i < 30 && !refused; i++) {
      try {
        feed.enqueue(bytes.slice(i * 10, i * 10 + 10));
      } catch {
        break; // refused already: the body was cancelled before the rejection reached `refused`
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await assert.rejects(received, /the upload took longer than 0.5 s/);
    assert.equal(await exists(spoolPath), false, "its spool is removed");
  } finally {
    db.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("receiveUpload() refuses a body that ends inside its file part, and nothing is left uncaught", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-spool-cut-" });
  const db = openDatabase(":memory:");
  try {
    const { received, feed, bytes, spoolPath } = await streamedUpload(db, dataDir, {});
    // Everything but the file part's last bytes and the closing boundary, then the end of the body.
    feed.enqueue(bytes.slice(0, bytes.length - 20));
    feed.close();
    await assert.rejects(received, (err: unknown) => {
      assert.ok(err instanceof BulkFileError);
      assert.equal(err.code, "err.request.bad");
      assert.match(err.message, /Unexpected end of form/);
      return true;
    });
    // An error event without a listener would surface after the rejection: give it the turn it would take.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await exists(spoolPath), false, "its spool is removed");
  } finally {
    db.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
