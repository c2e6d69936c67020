/**
 * A write lock held by another process past the wait (`BEGIN IMMEDIATE` in a second process, as `sqlite3` or a
 * backup would): requests that need a write answer 503 with Retry-After, `/healthz` keeps answering meanwhile,
 * requests after the release succeed, and nothing accepted before is lost.
 */
import assert from "node:assert/strict";
import { startReceiver } from "../transactions/receiver.ts";
import { ADMIN_TOKEN, adminGet, createServerSender, startWorkerServer } from "../transactions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";
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
    // The token endpoint in RFC 6749's shape: temporarily_unavailable, with Retry-After.
    assert.equal(token.status, 503, `token: ${JSON.stringify(token.body)}`);
    assert.ok(Number(token.headers.get("retry-after")) >= 1, "token: Retry-After");
    assert.equal(token.body.error, "temporarily_unavailable");
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

Deno.test("faults: a server starts on its data dir while another process holds the write lock", async () => {
  const first = await startWorkerServer();
  assert.equal(await first.stop(), 0);
  const lock = await holdWriteLock(`${first.dataDir}/dci.sqlite`);
  try {
    // Its signing key and DCI_ADMIN_TOKEN exist: starting reads them and writes nothing it must wait for. (The
    // worker's start-up writes would only wait and log: DCI_WORKER=false keeps the test short.)
    const again = await startWorkerServer({ DCI_WORKER: "false" }, first.dataDir);
    try {
      const health = await fetch(`${again.url}/healthz`);
      await health.body?.cancel();
      assert.equal(health.status, 200);
    } finally {
      await lock.release();
      assert.equal(await again.stop(), 0);
    }
  } catch (err) {
    await lock.release().catch(() => {});
    throw err;
  }
});

Deno.test("faults: the console answers 503 with Retry-After while another process holds the write lock", async () => {
  const server = await startWorkerServer({ DCI_WORKER: "false" });
  try {
    const nonce = "n".repeat(43);
    // A login writes its session: it meets the lock.
    const login = () =>
      fetch(`${server.url}/console/login`, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          cookie: `dci_console_login=${nonce}`,
        },
        body: `_csrf=${nonce}&token=${encodeURIComponent(ADMIN_TOKEN)}`,
      });
    const before = await login();
    await before.body?.cancel();
    assert.equal(before.status, 303, "logged in before the lock");
    const lock = await holdWriteLock(`${server.dataDir}/dci.sqlite`);
    try {
      const during = await login();
      const page = await during.text();
      assert.equal(during.status, 503, page.slice(0, 300));
      assert.ok(Number(during.headers.get("retry-after")) >= 1);
      assert.match(page, /write lock is held by another process/);
    } finally {
      await lock.release();
    }
    const after = await login();
    await after.body?.cancel();
    assert.equal(after.status, 303, "logged in after the release");
  } finally {
    await server.stop();
  }
});
