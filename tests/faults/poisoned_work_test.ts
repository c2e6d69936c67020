/**
 * Poisoned background work (issue 11, item 3): a transaction that crashes its processor, runs over its budget or
 * kills the worker process is failed after DCI_PROCESS_ATTEMPTS attempts with its reason, and never holds up the
 * worker, the sweeper, the notifier or the cron jobs for other senders.
 */
import assert from "node:assert/strict";
import { harness, type Json, searchMessage } from "../transactions/support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { RUN_FLAGS } from "../helpers/runtime.ts";
import { freshPgDatabase, TEST_BACKEND, testDeps } from "../helpers/deps.ts";
import { createOutboundClient, type OutboundClient } from "../../src/net/outbound.ts";
import type { Processor } from "../../src/dci/processor.ts";
import { PROCESSORS } from "../../src/actions/processors.ts";
import { sweepTransactions } from "../../src/jobs/sweeper.ts";
import { closeDeps, openDeps } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { createApp } from "../helpers/app.ts";
import { addSender, getSender } from "../../src/senders/store.ts";
import { refreshDueJwks } from "../../src/senders/jwks_fetch.ts";
import { listSenderKeys } from "../../src/senders/keys.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import {
  input,
  person,
  putPerson,
  startReceiver as startNotifyReceiver,
  subItem,
} from "../subscriptions/helpers.ts";

const CHILD = new URL("./poison_child.ts", import.meta.url).pathname;

/** The search processor, except that `poisoned` senders' transactions run `poison` instead. */
function poisonFor(senders: Set<string>, poison: Processor): Processor {
  return (deps, input) => senders.has(input.senderId) ? poison(deps, input) : PROCESSORS.search(deps, input);
}

function header(r: { body: Record<string, unknown> }): Record<string, unknown> {
  return r.body.header as Record<string, unknown>;
}

Deno.test("worker: a processor that throws every time is failed after DCI_PROCESS_ATTEMPTS attempts with its reason, and another sender's transaction completes", async () => {
  const poisoned = new Set<string>();
  let runs = 0;
  const h = await harness({ outboundAllow: "127.0.0.1", processAttempts: "3" }, {
    processors: {
      search: poisonFor(poisoned, () => {
        runs++;
        throw new TypeError("poisoned input: cannot read properties of undefined");
      }),
    },
  });
  const rx = startReceiver();
  try {
    h.deps.http = createOutboundClient(h.deps.config); // real callbacks to the loopback receiver
    poisoned.add(h.alice.senderId);
    const bob = await createTestSender(h.deps);
    const a = await h.post("/registry/search", searchMessage("t-poisoned"), { senderUri: rx.url });
    const b = await h.post("/registry/search", searchMessage("t-other"), { sender: bob, senderUri: rx.url });
    const aId = (a.body.message as Json).correlation_id;
    const bId = (b.body.message as Json).correlation_id;
    await h.drain();
    // Bob's transaction, in the same queue, is answered at once.
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(bId))!.state, "callback_sent");
    // Alice's first attempt failed: counted, its reason kept, due again after a delay.
    let row = (await h.deps.storage.transactions.getByCorrelationId(aId))!;
    assert.equal(row.state, "processing");
    assert.equal(row.process_attempts, 1);
    assert.match(row.process_error!, /attempt 1 of 3: TypeError: poisoned input/);
    h.deps.clock.advance(1000);
    await h.drain();
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(aId))!.process_attempts, 2);
    h.deps.clock.advance(5000);
    await h.drain();
    row = (await h.deps.storage.transactions.getByCorrelationId(aId))!;
    assert.equal(runs, 3, "the processor ran once per attempt, no more");
    assert.equal(row.state, "callback_sent");
    assert.equal(row.outcome, "rjct");
    assert.equal(row.status_reason_code, "rjct.processing.failed");
    assert.match(row.process_error!, /attempt 3 of 3: TypeError: poisoned input/);
    // Both senders got their callback; the failure's cause is not sent.
    const cbA = rx.received.find((r) => (r.body.message as Json).transaction_id === "t-poisoned")!;
    const cbB = rx.received.find((r) => (r.body.message as Json).transaction_id === "t-other")!;
    assert.equal(header(cbA).status, "rjct");
    // The row's rjct.processing.failed is for operators: no MsgHeaderStatusReasonCode, so not in the header.
    assert.equal(header(cbA).status_reason_code, undefined);
    assert.match(String(header(cbA).status_reason_message), /failed in 3 attempts; quote correlation_id/);
    assert.doesNotMatch(JSON.stringify(cbA.body), /poisoned input/);
    assert.equal(header(cbB).status, "succ");
    assert.equal(rx.received.length, 2);
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("worker: a processor over its time budget holds neither the worker nor the sweep; it is failed after DCI_PROCESS_ATTEMPTS attempts", async () => {
  const poisoned = new Set<string>();
  const h = await harness(
    // A budget the other sender's real search keeps on a loaded machine (on PostgreSQL each store call is a round
    // trip), which Alice's never-settling processor still runs over.
    { outboundAllow: "127.0.0.1", processAttempts: "2", processTimeoutMs: "1000" },
    // One processing slot: a hung processor that kept it would starve every other sender.
    { processConcurrency: 1, processors: { search: poisonFor(poisoned, () => new Promise(() => {})) } },
  );
  const rx = startReceiver();
  try {
    h.deps.http = createOutboundClient(h.deps.config);
    poisoned.add(h.alice.senderId);
    const bob = await createTestSender(h.deps);
    const a = await h.post("/registry/search", searchMessage("t-hung"), { senderUri: rx.url });
    const b = await h.post("/registry/search", searchMessage("t-other"), { sender: bob, senderUri: rx.url });
    h.deps.queue.waiting.length = 0; // the sweeper finds both
    // The sweep handles both at once and returns although Alice's processor never settles.
    assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: true }), 2);
    const bRow =
      (await h.deps.storage.transactions.getByCorrelationId((b.body.message as Json).correlation_id))!;
    assert.equal(bRow.state, "callback_sent", `${bRow.state}: ${bRow.process_error}`);
    const aId = (a.body.message as Json).correlation_id;
    assert.match(
      (await h.deps.storage.transactions.getByCorrelationId(aId))!.process_error!,
      /attempt 1 of 2: over its budget of 1000 ms/,
    );
    h.deps.clock.advance(1000);
    assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: false }), 1);
    const row = (await h.deps.storage.transactions.getByCorrelationId(aId))!;
    assert.equal(row.state, "callback_sent");
    assert.equal(row.status_reason_code, "rjct.processing.failed");
    assert.match(row.status_reason_message!, /exceeded its time budget of 1000 ms in 2 attempts/);
    const cbA = rx.received.find((r) => (r.body.message as Json).transaction_id === "t-hung")!;
    assert.equal(header(cbA).status, "rjct");
    assert.equal(header(cbA).status_reason_code, undefined);
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("crash loop: a transaction that kills the worker process is failed after DCI_PROCESS_ATTEMPTS starts (attempts are counted before processing)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-poison-" });
  const rx = startReceiver();
  try {
    // On the PostgreSQL pass the worker processes share a fresh database of the test cluster.
    const databaseUrl = TEST_BACKEND === "postgres" ? await freshPgDatabase() : "";
    const deps = await openDeps(testConfig({ dataDir, databaseUrl, outboundAllow: "127.0.0.1" }), {
      log: silentLogger,
    });
    let correlationId: string;
    try {
      const alice = await createTestSender(deps);
      const env = requestEnvelope(alice.senderId, searchMessage("t-killer"), {
        totalCount: 1,
        header: { sender_uri: rx.url },
      });
      const res = await createApp(deps).request("/registry/search", {
        method: "POST",
        headers: { "content-type": "application/json", ...alice.headers() },
        body: JSON.stringify(alice.sign(env)),
      });
      assert.equal(res.status, 202);
      correlationId = (await res.json()).message.correlation_id;
    } finally {
      await closeDeps(deps);
    }
    // Each start of the worker process runs the start-up sweep; its processor SIGKILLs the process
    // (processAttempts is 2 in the child).
    const starts: Array<{ signal: string | null; stdout: string }> = [];
    for (let i = 0; i < 3; i++) {
      // PostgreSQL: the killed start's lease (1 s in the child) lapses before the next start redoes its work.
      if (databaseUrl && i > 0) await new Promise((r) => setTimeout(r, 1100));
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", ...RUN_FLAGS, CHILD, dataDir, correlationId, databaseUrl],
        stdout: "piped",
        stderr: "piped",
      }).output();
      starts.push({ signal: out.signal, stdout: new TextDecoder().decode(out.stdout) });
      if (out.signal === null) {
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        break;
      }
    }
    assert.deepEqual(starts.map((s) => s.signal), ["SIGKILL", "SIGKILL", null]);
    const row = JSON.parse(starts[2].stdout);
    assert.equal(row.correlation_id, correlationId);
    assert.equal(row.process_attempts, 3);
    assert.equal(row.state, "callback_sent");
    assert.equal(row.status_reason_code, "rjct.processing.failed");
    assert.match(row.process_error, /interrupted: 2 attempts did not finish/);
    assert.equal(rx.received.length, 1);
    assert.equal(header(rx.received[0]).status, "rjct");
    assert.equal(header(rx.received[0]).status_reason_code, undefined);
  } finally {
    await rx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("notifier: an event that fails a subscription's filter does not stop fan-out for other events and subscriptions", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startNotifyReceiver();
  try {
    for (const s of ["s1", "s2"]) {
      await addSender(deps, s, { name: s, auto_approve_subscriptions: true });
      const r = await subscribeProcessor(
        deps,
        input(s, {
          transaction_id: "t",
          subscribe_request: [subItem("r", {
            reg_event_type: "registration",
            filter_type: "expression",
            filter: { expression: { sex: { $eq: "female" } } },
          })],
        }, rx.url),
      );
      assert.equal((r.message.subscribe_response as Json)[0].status, "succ");
    }
    await putPerson(deps, person("poisoned"));
    await putPerson(deps, person("fine"));
    // The first event's stored record cannot be read any more (a corrupt row).
    await deps.sql(
      "UPDATE registry_events SET snapshot = '{not json' WHERE id = (SELECT MIN(id) FROM registry_events)",
    );
    await runNotifierOnce(deps, { random: () => 0.5 });
    const ids = rx.received.map((r) =>
      (r.body.message as Json).notify_event[0].data.reg_records.identifier[0].identifier_value
    );
    assert.deepEqual(ids.sort(), ["U-fine", "U-fine"], "both subscriptions get the next event");
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("cron: a sender whose JWKS refresh throws does not stop the refresh of the senders after it", async () => {
  const deps = await testDeps();
  try {
    const jwk = (await crypto.subtle.exportKey(
      "jwk",
      (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair)
        .publicKey,
    )) as Record<string, unknown>;
    await addSender(deps, "a-broken", { name: "a", jwks_url: "https://a.example/jwks.json" });
    await addSender(deps, "b-fine", { name: "b", jwks_url: "https://b.example/jwks.json" });
    const http: OutboundClient = {
      check: () => Promise.resolve(),
      request(url) {
        // A failure the fetch does not expect (not a refused URL, not a bad document).
        if (url.includes("a.example")) return Promise.reject(new RangeError("unexpected"));
        const body = JSON.stringify({ keys: [{ ...jwk, kid: "b-fine|k1|ed25519" }] });
        return Promise.resolve({
          status: 200,
          headers: new Headers(),
          body: new TextEncoder().encode(body),
          text: () => body,
        });
      },
    };
    deps.http = http;
    assert.equal(await refreshDueJwks(deps), 2);
    assert.deepEqual((await listSenderKeys(deps, "b-fine")).map((k) => k.key_id), ["k1"]);
    assert.equal((await getSender(deps, "b-fine"))?.jwks_fetch_status, "ok");
  } finally {
    deps.close();
  }
});
