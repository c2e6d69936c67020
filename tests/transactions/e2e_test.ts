import { runCliProcess } from "../helpers/server.ts";
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  adminGet,
  createServerSender,
  send,
  startWorkerServer,
  waitForState,
} from "./e2e_support.ts";
import { freePort, startReceiver } from "./receiver.ts";
import { type Json, searchMessage, verifyWithJwks } from "./support.ts";

const corrOf = (r: { body: Record<string, unknown> }) =>
  (r.body.message as Record<string, string>).correlation_id;

Deno.test("e2e: each async action is ACKed and its signed callback reaches a loopback receiver", async () => {
  const receiver = startReceiver();
  const server = await startWorkerServer();
  try {
    const alice = await createServerSender(server);
    const base = `${receiver.url}/cb`;
    const search = await send(server, alice, "/registry/search", searchMessage("e2e-s", 2), base);
    assert.equal(search.status, 202);
    assert.equal((search.body.message as Record<string, string>).ack_status, "ACK");
    const sub = await send(server, alice, "/dci_api/v1/social/registry/subscribe", {
      transaction_id: "e2e-sub",
      subscribe_request: [{
        reference_id: "r1",
        timestamp: new Date().toISOString(),
        subscribe_criteria: {},
      }],
    }, base);
    const unsub = await send(server, alice, "/registry/unsubscribe", {
      transaction_id: "e2e-unsub",
      timestamp: new Date().toISOString(),
      subscription_codes: ["c1"],
    }, base);
    for (const r of [sub, unsub]) assert.equal(r.status, 202);
    await receiver.waitFor((rs) => rs.length >= 3);
    const status = await send(server, alice, "/registry/txn/status", {
      transaction_id: "e2e-q",
      txnstatus_request: {
        reference_id: "q1",
        txn_type: "search",
        attribute_type: "correlation_id",
        attribute_value: corrOf(search),
      },
    }, base);
    assert.equal(status.status, 202);
    await receiver.waitFor((rs) => rs.length >= 4);
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const byPath = Object.fromEntries(receiver.received.map((r) => [r.path, r]));
    assert.deepEqual(Object.keys(byPath).sort(), [
      "/cb/registry/on-search",
      "/cb/registry/on-subscribe",
      "/cb/registry/on-unsubscribe",
      "/cb/registry/txn/on-status",
    ]);
    for (const r of receiver.received) {
      assert.ok(verifyWithJwks(r.body, jwks, Date.now()), `${r.path} signature`);
    }
    const onSearch = byPath["/cb/registry/on-search"];
    assert.equal(onSearch.transactionIdHeader, "e2e-s");
    assert.equal((onSearch.body.header as Record<string, string>).status, "succ");
    assert.equal((onSearch.body.message as Record<string, unknown[]>).search_response.length, 2);
    const onStatus = byPath["/cb/registry/txn/on-status"].body.message as Json;
    assert.equal(onStatus.txnstatus_response.txn_status.correlation_id, corrOf(search));
    // sync/txn/status sees the finished search.
    const sync = await send(
      server,
      alice,
      "/registry/sync/txn/status",
      {
        transaction_id: "e2e-q2",
        txnstatus_request: {
          reference_id: "q2",
          txn_type: "search",
          attribute_type: "transaction_id",
          attribute_value: "e2e-s",
        },
      },
      base,
      "txn-status",
    );
    assert.equal(sync.status, 200);
    assert.equal((sync.body.message as Json).txnstatus_response.txn_status.search_response.length, 2);
    const t = await waitForState(server, corrOf(search), "callback_sent");
    assert.equal(t.attempts, 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /dci_txn_callbacks_total\{action="search",outcome="sent"\} 1/);
    assert.match(metrics, /dci_txn_processing_seconds_count\{action="search",status="succ"\} 1/);
    assert.match(metrics, /dci_txn_queue_depth\{state="callback_failed"\} 0/);
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("e2e: a receiver down then up gets the callback on a retry; one that always fails ends callback_failed", async () => {
  const port = await freePort();
  const bad = startReceiver();
  bad.respond = () => 503;
  const server = await startWorkerServer();
  let receiver;
  try {
    const alice = await createServerSender(server);
    const down = await send(
      server,
      alice,
      "/registry/search",
      searchMessage("e2e-down"),
      `http://127.0.0.1:${port}/`,
    );
    const failing = await send(server, alice, "/registry/search", searchMessage("e2e-fail"), bad.url);
    assert.equal(down.status, 202);
    await server.waitForLog((l) => l.msg === "callback retry scheduled" && l.correlation_id === corrOf(down));
    receiver = startReceiver({ port });
    await receiver.waitFor((rs) => rs.length === 1);
    const t = await waitForState(server, corrOf(down), "callback_sent");
    assert.ok((t.attempts as number) >= 2);
    // 1 attempt + 3 retries (200, 400, 800 ms), then callback_failed with the reason kept.
    const failed = await waitForState(server, corrOf(failing), "callback_failed", 20_000);
    assert.equal(failed.attempts, 4);
    assert.equal(failed.last_error, "HTTP 503 from callback URL");
    assert.equal(bad.hits, 4);
    const list = await adminGet(server, "/transactions?state=callback_failed");
    assert.deepEqual((list.items as Array<Record<string, string>>).map((i) => i.correlation_id), [
      corrOf(failing),
    ]);
    // The CLI sees the same record (the server keeps running: SQLite WAL allows the second reader).
    const cli = await runCliProcess(["txn", "show", corrOf(failing), "--json", "--data-dir", server.dataDir]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).state, "callback_failed");
    // The operator retries once the receiver is fixed.
    bad.respond = () => 200;
    const retry = await fetch(`${server.url}/admin/v1/transactions/${corrOf(failing)}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    });
    assert.equal(retry.status, 202);
    await retry.body?.cancel();
    await waitForState(server, corrOf(failing), "callback_sent");
    assert.equal(bad.received.filter((r) => r.status === 200).length, 1);
  } finally {
    await server.stop();
    await bad.close();
    await receiver?.close();
  }
});
