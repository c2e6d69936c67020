/**
 * A write lock held by another process past the wait (`BEGIN IMMEDIATE` in a second process, as `sqlite3` or a
 * backup would): requests that need a write answer 503 with Retry-After, `/healthz` keeps answering meanwhile,
 * requests after the release succeed, and nothing accepted before is lost.
 */
import assert, { deepEqual, equal, match, ok } from "node:assert/strict";
import { startReceiver } from "../transactions/receiver.ts";
import { ADMIN_TOKEN, adminGet, createServerSender, startWorkerServer } from "../transactions/e2e_support.ts";
import { harness, searchMessage } from "../transactions/support.ts";
import { subItem } from "../subscriptions/helpers.ts";
import { type Db, openDatabase, setBusyTimeout } from "../../src/db/sqlite.ts";
import { isDatabaseBusy } from "../../src/db/faults.ts";
import { groupCommit } from "../../src/db/group_commit.ts";
import { stmt } from "../../src/db/statements.ts";
import { getByCorrelationId } from "../../src/transactions/store.ts";
import { postJson } from "../helpers/server.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import type { TestSender } from "../helpers/auth.ts";

/** A second process holding the SQLite write lock of `path` until `release()` (or 60 s at most). */
async function holdWriteLock(path: string): Promise<{ release(): Promise<void> }> {
  const code = `
    import { DatabaseSync } from "node:sqlite";
    const db = new DatabaseSync(${JSON.stringify(path)});
    db.exec("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE");
    console.log("held");
    const stop = setTimeout(() => {}, 60_000);
    for await (const _ of Deno.stdin.readable) { /* until the test closes stdin */ }
    clearTimeout(stop);
    db.exec("ROLLBACK");
    db.close();
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await lines.read();
  assert.equal(first.value?.trim(), "held", "the lock holder started");
  return {
    release: async () => {
      await child.stdin.close();
      await lines.cancel();
      assert.equal((await child.status).code, 0, "the lock holder released and exited");
    },
  };
}

function syncSearch(server: { url: string }, sender: TestSender, txn: string) {
  const message = searchMessage(txn);
  return postJson(
    `${server.url}/registry/sync/search`,
    sender.sign(requestEnvelope(sender.senderId, message, { totalCount: 1 })),
    sender.headers(),
  );
}

function asyncSearch(server: { url: string }, sender: TestSender, txn: string, senderUri: string) {
  const envelope = requestEnvelope(sender.senderId, searchMessage(txn), {
    action: "search",
    totalCount: 1,
    header: { sender_uri: senderUri },
  });
  return postJson(`${server.url}/registry/search`, sender.sign(envelope), sender.headers());
}

function tokenRequest(server: { url: string }, sender: TestSender) {
  return fetch(`${server.url}/oauth2/client/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${btoa(`${sender.clientId}:${sender.clientSecret}`)}`,
    },
    body: "grant_type=client_credentials",
  }).then(async (res) => ({ status: res.status, headers: res.headers, body: await res.json() }));
}

function adminCreateSender(server: { url: string }, id: string) {
  return postJson(`${server.url}/admin/v1/senders`, { sender_id: id, name: id }, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
}

/** Asserts a 503 ERR ACK err.service.unavailable with a Retry-After header. */
function assertUnavailable(
  what: string,
  r: { status: number; headers: Headers; body: Record<string, unknown> },
) {
  assert.equal(r.status, 503, `${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assert.ok(
    Number(r.headers.get("retry-after")) >= 1,
    `${what}: Retry-After ${r.headers.get("retry-after")}`,
  );
  const m = r.body.message as { ack_status: string; error: { code: string } };
  assert.equal(m.ack_status, "ERR", what);
  assert.equal(m.error.code, "err.service.unavailable", what);
}

Deno.test("faults: a write lock held by another process answers 503 meanwhile, and the server recovers when it is released", async () => {
  const rx = startReceiver();
  const server = await startWorkerServer({
    DCI_CALLBACK_RETRY_DELAYS_MS: Array(40).fill("250").join(","),
    DCI_SWEEP_INTERVAL_SECONDS: "1",
    DCI_LEASE_SECONDS: "2",
  });
  try {
    const alice = await createServerSender(server);
    // Callbacks fail until the lock is released, so the worker's writes meet the lock too.
    rx.respond = () => 503;
    const accepted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await asyncSearch(server, alice, `before-${i}`, rx.url);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      accepted.push((r.body.message as { correlation_id: string }).correlation_id);
    }
    assert.equal((await syncSearch(server, alice, "warm")).status, 200);

    const lock = await holdWriteLock(`${server.dataDir}/dci.sqlite`);
    type Answer = { status: number; headers: Headers; body: Record<string, unknown> };
    let during: Answer[];
    let secondBatch: Answer;
    let healthWhileWaiting: { status: number; beforeWrites: boolean };
    try {
      let settled = 0;
      const waiting = [
        syncSearch(server, alice, "during-sync"),
        asyncSearch(server, alice, "during-async", rx.url),
        tokenRequest(server, alice),
        adminCreateSender(server, "during-admin"),
      ].map((p) => p.finally(() => settled++));
      // While those wait for the lock, the isolate still answers: its event loop is not blocked by the wait.
      const health = await fetch(`${server.url}/healthz`);
      await health.body?.cancel();
      healthWhileWaiting = { status: health.status, beforeWrites: settled < waiting.length };
      during = await Promise.all(waiting);
      // A later batch, while the lock is still held, waits and fails alone too.
      secondBatch = await syncSearch(server, alice, "during-sync-2");
    } finally {
      await lock.release();
    }

    // After the release: every kind of request succeeds again (no failed batch is kept).
    rx.respond = () => 200;
    const after = { sync: [] as number[], async: [] as number[], token: 0, admin: 0 };
    for (let i = 0; i < 3; i++) {
      after.sync.push((await syncSearch(server, alice, `after-sync-${i}`)).status);
      const r = await asyncSearch(server, alice, `after-${i}`, rx.url);
      after.async.push(r.status);
      if (r.status === 202) accepted.push((r.body.message as { correlation_id: string }).correlation_id);
    }
    after.token = (await tokenRequest(server, alice)).status;
    after.admin = (await adminCreateSender(server, "after-admin")).status;

    const summary = `during the lock: ${during.map((r) => r.status)} then ${secondBatch.status}; after it: ${
      JSON.stringify(after)
    }`;
    const [sync, async_, token, admin] = during;
    assertUnavailable(`sync search (${summary})`, sync);
    assertUnavailable("async search", async_);
    assertUnavailable("token", token);
    assertUnavailable("admin write", admin);
    assertUnavailable("sync search, second batch", secondBatch);
    assert.equal(healthWhileWaiting.status, 200);
    assert.ok(healthWhileWaiting.beforeWrites, "/healthz answered while writes were waiting for the lock");
    assert.deepEqual(
      after,
      { sync: [200, 200, 200], async: [202, 202, 202], token: 200, admin: 201 },
      summary,
    );

    // Nothing accepted is lost: every transaction ACKed before and after the lock is called back.
    for (const c of accepted) {
      const end = Date.now() + 30_000;
      for (;;) {
        const t = await adminGet(server, `/transactions/${c}`);
        if (t.state === "callback_sent") break;
        if (Date.now() > end) throw new Error(`transaction ${c} is ${t.state} after the release`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(await server.stop(), 0);
  } finally {
    await server.stop();
    await rx.close();
  }
});

/** A file database and a second connection to it (another process's stand-in) that can hold its write lock. */
async function twoConnections(): Promise<{ db: Db; other: Db; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-lock-" });
  const db = openDatabase(`${dir}/t.sqlite`);
  db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)");
  const other = openDatabase(`${dir}/t.sqlite`);
  return {
    db,
    other,
    close: async () => {
      db.close();
      other.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const put = (db: Db, n: number) => () => Number(stmt(db, "INSERT INTO t VALUES (?) RETURNING n").get(n)!.n);

Deno.test("groupCommit() waits for a lock held elsewhere without blocking the event loop, then commits", async () => {
  const { db, other, close } = await twoConnections();
  try {
    other.exec("BEGIN IMMEDIATE");
    let settled = false;
    const write = groupCommit(db, put(db, 1));
    write.then(() => settled = true, () => settled = true);
    // A timer fires while the write waits (the wait yields to the event loop), and the write still waits.
    await new Promise((r) => setTimeout(r, 30));
    ok(!settled, "the write waits for the lock");
    other.exec("COMMIT");
    equal(await write, 1);
    deepEqual(other.prepare("SELECT n FROM t").all().map((r) => r.n), [1]);
  } finally {
    await close();
  }
});

Deno.test("groupCommit() fails only the writes that waited past their wait with 'database is locked'; the next write starts afresh", async () => {
  const { db, other, close } = await twoConnections();
  try {
    other.exec("BEGIN IMMEDIATE");
    const late = groupCommit(db, put(db, 1), { waitMs: 40 });
    const err = await late.then(() => undefined, (e) => e);
    ok(isDatabaseBusy(err), `expected a busy error, got ${err}`);
    other.exec("ROLLBACK");
    equal(await groupCommit(db, put(db, 2), { waitMs: 40 }), 2);
    deepEqual(other.prepare("SELECT n FROM t").all().map((r) => r.n), [2]);
  } finally {
    await close();
  }
});

/** A harness on a file database (processAttempts 1), a second connection to it, and an accepted subscribe. */
async function subscribeWithLock(overrides: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "dci-lock-" });
  // One attempt allowed: a storage fault counted as the transaction's attempt would fail it for good.
  const h = await harness({ dataDir: dir, processAttempts: "1", ...overrides });
  const other = openDatabase(`${dir}/dci.sqlite`);
  const res = await h.post("/registry/subscribe", {
    transaction_id: "t-sub",
    subscribe_request: [subItem("r1", { reg_event_type: "REGISTER" })],
  });
  equal(res.status, 202, JSON.stringify(res.body));
  const correlationId = (res.body.message as { correlation_id: string }).correlation_id;
  // The worker's synchronous waits stay short; the lock is taken while the processor runs (its URL check).
  setBusyTimeout(h.deps.db, 20);
  h.http.check = () => {
    if (!other.isTransaction) other.exec("BEGIN IMMEDIATE");
    h.http.check = () => Promise.resolve();
    return Promise.resolve();
  };
  return {
    h,
    row: () => getByCorrelationId(h.deps.db, correlationId)!,
    release: () => {
      if (other.isOpen && other.isTransaction) other.exec("ROLLBACK");
    },
    close: async () => {
      other.close();
      h.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function subscribeStatuses(result: string): string[] {
  return (JSON.parse(result) as { subscribe_response: Array<{ status: string }> }).subscribe_response
    .map((i) => i.status);
}

Deno.test("worker: a processor write that meets a lock held elsewhere is tried again under its claim, not rejected", async () => {
  const t = await subscribeWithLock();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    timer = setTimeout(t.release, 100);
    await t.h.drain();
    const row = t.row();
    equal(row.state, "callback_sent", `${row.state}: ${row.process_error}`);
    equal(row.process_attempts, 1);
    deepEqual(subscribeStatuses(row.result!), ["pdng"]);
  } finally {
    clearTimeout(timer);
    t.release();
    await t.close();
  }
});

Deno.test("worker: a lock held past the claim's retries leaves the attempt uncounted, and the transaction is redone", async () => {
  const t = await subscribeWithLock({ leaseSeconds: "1" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // Held past the claim's tries (about 0.75 s with a 1 s lease), released while the row is being let go.
    timer = setTimeout(t.release, 1500);
    await t.h.drain();
    const waiting = t.row();
    equal(waiting.state, "processing", `not rejected for a lock: ${waiting.process_error}`);
    equal(waiting.process_attempts, 0, "the attempt that met the lock is not counted");
    match(waiting.process_error ?? "", /not counted.*database is locked/);
    // Once its retry time comes it is redone (the sweeper's job) and succeeds.
    t.h.deps.clock.advance(Date.parse(waiting.lease_until!) - t.h.deps.clock.now() + 1);
    await t.h.worker.handle(waiting.id);
    const row = t.row();
    equal(row.state, "callback_sent", `${row.state}: ${row.process_error}`);
    deepEqual(subscribeStatuses(row.result!), ["pdng"]);
  } finally {
    clearTimeout(timer);
    t.release();
    await t.close();
  }
});
