import { equal, match, ok } from "node:assert/strict";
import { type Db, openDatabase } from "../../src/db/sqlite.ts";
import {
  checkpointOnce,
  deferCheckpoints,
  restartWal,
  startCheckpointer,
  walFramesPending,
} from "../../src/db/checkpoint.ts";
import { Metrics } from "../../src/obs/metrics.ts";
import { createLogger } from "../../src/obs/log.ts";
import { postJson, startServerProcess } from "../helpers/server.ts";
import { createServerSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { searchMessage } from "../transactions/support.ts";

/** Commits ~2,000 WAL frames at once (2,000 rows of 3 KB, a page each): past SQLite's 1,000-page checkpoint. */
function writeManyPages(db: Db): void {
  db.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, blob BLOB)");
  const insert = db.prepare("INSERT INTO filler (blob) VALUES (?)");
  db.exec("BEGIN IMMEDIATE");
  for (let i = 0; i < 2000; i++) insert.run(new Uint8Array(3000).fill(i % 251));
  db.exec("COMMIT");
}

/** Runs `fn` with two connections to a fresh database file: `other` stays open (the last close checkpoints). */
async function withTwoConnections(fn: (path: string, writer: Db, other: Db) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dci-checkpoint-" });
  const path = `${dir}/db.sqlite`;
  const other = openDatabase(path);
  const writer = openDatabase(path);
  try {
    fn(path, writer, other);
  } finally {
    writer.close();
    other.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deferCheckpoints() leaves a WAL past 1,000 pages to another connection, whose checkpointOnce() copies it", async () => {
  await withTwoConnections((path, writer, other) => {
    deferCheckpoints(writer);
    writeManyPages(writer);
    ok(Deno.statSync(path).size < 100_000, `nothing copied into the database by the writer's commit`);
    const pending = walFramesPending(other);
    ok(
      pending !== undefined && pending >= 2000,
      `the -shm header shows the frames not yet copied: ${pending}`,
    );
    const run = checkpointOnce(other);
    equal(run.busy, false);
    ok(run.walFrames >= 2000, `the WAL holds the commit: ${run.walFrames} frames`);
    equal(run.copiedFrames, run.walFrames);
    ok(Deno.statSync(path).size > 6_000_000, "the checkpoint copied the pages into the database");
    equal(walFramesPending(writer), 0);
    equal((other.prepare("SELECT count(*) AS n FROM filler").get() as { n: number }).n, 2000);
  });
});

Deno.test("a connection without deferCheckpoints() checkpoints on its own commit past 1,000 pages", async () => {
  await withTwoConnections((path, writer) => {
    writeManyPages(writer);
    ok(Deno.statSync(path).size > 6_000_000, "the committing connection copied the pages itself");
  });
});

Deno.test("restartWal() after a complete checkpoint starts the WAL over with its own one-page write", async () => {
  await withTwoConnections((_path, writer, other) => {
    deferCheckpoints(writer);
    writeManyPages(writer);
    const run = checkpointOnce(other);
    equal(run.copiedFrames, run.walFrames);
    equal(restartWal(other), true);
    const after = checkpointOnce(other);
    equal(after.walFrames, 1, "the WAL holds only restartWal's frame");
    writer.exec("INSERT INTO filler (blob) VALUES (x'00')");
    equal((writer.prepare("SELECT count(*) AS n FROM filler").get() as { n: number }).n, 2001);
  });
});

Deno.test("restartWal() does nothing while another connection holds the write lock", async () => {
  await withTwoConnections((_path, writer, other) => {
    writeManyPages(writer);
    writer.exec("BEGIN IMMEDIATE");
    try {
      equal(restartWal(other), false);
    } finally {
      writer.exec("ROLLBACK");
    }
  });
});

Deno.test("startCheckpointer() logs a lasting checkpoint failure once, not at every tick", async () => {
  const lines: string[] = [];
  let calls = 0;
  const { promise: thirdTick, resolve } = Promise.withResolvers<void>();
  // A connection whose checkpoint always fails (as on a full disk).
  const db = {
    isOpen: true,
    location: () => null,
    prepare() {
      if (++calls === 3) resolve();
      throw new Error("database or disk is full");
    },
  } as unknown as Db;
  const checkpointer = startCheckpointer(
    { db, metrics: new Metrics(), log: createLogger("warn", { sink: (l) => lines.push(l) }) },
    { intervalMs: 1 },
  );
  // The checkpointer's timer never keeps a process alive: this one keeps the test's event loop running meanwhile.
  const keepAlive = setTimeout(() => {}, 60_000);
  try {
    await thirdTick;
  } finally {
    checkpointer.stop();
    clearTimeout(keepAlive);
  }
  equal(lines.length, 1);
  match(lines[0], /wal checkpoint failed/);
});

Deno.test("checkpointOnce() and walFramesPending() on an in-memory database report no WAL", () => {
  const db = openDatabase(":memory:");
  try {
    const run = checkpointOnce(db);
    equal(run.walFrames, -1);
    equal(walFramesPending(db), undefined);
  } finally {
    db.close();
  }
});

Deno.test("serve with an HTTP isolate: the main isolate checkpoints, and a SIGKILL after answers loses no replay record", async () => {
  // A checkpoint as soon as the WAL holds a frame, so that 20 searches are enough to see one.
  const env = {
    DCI_RATE_LIMIT_MINUTE: "100000",
    DCI_RATE_LIMIT_DAY: "1000000",
    DCI_WAL_CHECKPOINT_FRAMES: "1",
  };
  const server = await startServerProcess({ env });
  const sent: unknown[] = [];
  let sender: TestSender | undefined;
  try {
    sender = await createServerSender(server);
    for (let i = 0; i < 20; i++) {
      const envelope = sender.sign(
        requestEnvelope(sender.senderId, searchMessage(`ckpt-${i}`), { totalCount: 1 }),
      );
      const res = await postJson(`${server.url}/registry/sync/search`, envelope, sender.headers());
      equal(res.status, 200, JSON.stringify(res.body));
      sent.push(envelope);
    }
    // The checkpointer ticks every second in the main isolate; its histogram reaches /metrics over the bus.
    const until = Date.now() + 15_000;
    let runs = 0;
    while (runs === 0 && Date.now() < until) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      runs = Number(/^dci_sqlite_checkpoint_seconds_count(?:\{\})? (\d+)$/m.exec(text)?.[1] ?? 0);
      if (runs === 0) await new Promise((r) => setTimeout(r, 100));
    }
    ok(runs >= 1, "the main isolate ran a WAL checkpoint");
    const last = sender.sign(requestEnvelope(sender.senderId, searchMessage("ckpt-last"), { totalCount: 1 }));
    equal((await postJson(`${server.url}/registry/sync/search`, last, sender.headers())).status, 200);
    sent.push(last);
  } finally {
    await server.stop("SIGKILL");
  }
  const again = await startServerProcess({ env, dataDir: server.dataDir });
  try {
    for (const envelope of sent) {
      const res = await postJson(`${again.url}/registry/sync/search`, envelope, sender!.headers());
      equal(res.status, 409, JSON.stringify(res.body));
      match(JSON.stringify(res.body), /rjct\.message_id\.duplicate/);
    }
  } finally {
    await again.stop();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});
