/**
 * Faulty callback and notification receivers against the real server (worker on): each transaction and
 * notification ends in a defined terminal state with its attempts and last error recorded; nothing is lost.
 * Decision on huge bodies: a callback is judged by its status line only. A 2xx with a huge body is delivered
 * (the body is never read); a non-2xx with a huge body is a failed attempt.
 */
import assert from "node:assert/strict";
import { type Behaviour, startBadReceiver } from "./bad_receiver.ts";
import { adminGet, createServerSender, send, startWorkerServer } from "../transactions/e2e_support.ts";
import { admin, subscribeMessage } from "../subscriptions/e2e_support.ts";
import { person } from "../subscriptions/helpers.ts";

/** The outbound timeout: several times the slow receivers' 100–150 ms, so that a loaded machine's delay is no timeout. */
const TIMEOUT_MS = 1000;
const HUGE = 5 * 1024 * 1024;

/** Behaviour by the first path segment (the sender_uri each transaction uses). */
const MODES: Record<string, (hit: number) => Behaviour> = {
  hang: () => ({ kind: "hang" }),
  slow: () => ({ kind: "slow", ms: 150 }),
  err500: () => ({ kind: "status", status: 500 }),
  reset2: (hit) => hit <= 2 ? { kind: "reset" } : { kind: "ok" },
  reset: () => ({ kind: "reset" }),
  huge200: () => ({ kind: "huge", status: 200, bytes: HUGE }),
  huge500: () => ({ kind: "huge", status: 500, bytes: HUGE }),
};

/** mode → [final state, attempts, last_error pattern]. 1 attempt + 2 retries (delays 100,100). */
const EXPECTED: Record<string, [string, number, RegExp | null]> = {
  hang: ["callback_failed", 3, /timeout/],
  slow: ["callback_sent", 1, null],
  err500: ["callback_failed", 3, /^HTTP 500 from callback URL$/],
  reset2: ["callback_sent", 3, null],
  reset: ["callback_failed", 3, /network/],
  huge200: ["callback_sent", 1, null],
  huge500: ["callback_failed", 3, /^HTTP 500 from callback URL$/],
};

function search(txn: string) {
  return {
    transaction_id: txn,
    search_request: [{
      reference_id: `${txn}-r`,
      timestamp: new Date().toISOString(),
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "nobody" } },
    }],
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("faults: hanging, slow, 500, resetting and huge-body callback receivers each end in a defined state", async () => {
  const rx = startBadReceiver((path, hit) => (MODES[path.split("/")[1]] ?? (() => ({ kind: "ok" })))(hit));
  const server = await startWorkerServer({
    DCI_OUTBOUND_TIMEOUT_MS: String(TIMEOUT_MS),
    DCI_OUTBOUND_MAX_BYTES: "65536",
    DCI_CALLBACK_RETRY_DELAYS_MS: "100,100",
  });
  try {
    const alice = await createServerSender(server);
    const corr: Record<string, string> = {};
    for (const mode of Object.keys(MODES)) {
      const ack = await send(server, alice, "/registry/search", search(`fault-${mode}`), `${rx.url}/${mode}`);
      assert.equal(ack.status, 202, JSON.stringify(ack.body));
      corr[mode] = (ack.body.message as { correlation_id: string }).correlation_id;
    }
    for (const [mode, [state, attempts, error]] of Object.entries(EXPECTED)) {
      const t = await until(`${mode} terminal`, async () => {
        const t = await adminGet(server, `/transactions/${corr[mode]}`);
        return t.state === "callback_sent" || t.state === "callback_failed" ? t : undefined;
      });
      assert.equal(t.state, state, `${mode}: ${JSON.stringify(t)}`);
      assert.equal(t.attempts, attempts, `${mode} attempts`);
      if (error) assert.match(String(t.last_error), error, mode);
      const hits = [...rx.hits].filter(([p]) => p.startsWith(`/${mode}/`)).reduce((a, [, n]) => a + n, 0);
      assert.equal(hits, attempts, `${mode}: the receiver saw every attempt`);
    }
    // Nothing lost: every accepted transaction of the sender is terminal.
    const list = await adminGet(server, `/transactions?sender_id=${alice.senderId}&limit=100`);
    const items = list.items as Array<{ state: string }>;
    assert.equal(items.length, Object.keys(MODES).length);
    assert.ok(items.every((i) => i.state === "callback_sent" || i.state === "callback_failed"));
    assert.equal((await fetch(`${server.url}/healthz`).then((r) => r.json())).status, "ok");
  } finally {
    await server.stop();
    await rx.close();
  }
});

Deno.test("faults: a hanging notification receiver ends failed with the error kept; a slow one is delivered", async () => {
  const rx = startBadReceiver((path) =>
    path.endsWith("/notify") && path.startsWith("/hang/") ? { kind: "hang" } : { kind: "slow", ms: 100 }
  );
  const server = await startWorkerServer({
    DCI_OUTBOUND_TIMEOUT_MS: String(TIMEOUT_MS),
    DCI_CALLBACK_RETRY_DELAYS_MS: "100,100",
  });
  try {
    const senders = [];
    for (const mode of ["hang", "slow"]) {
      const s = await createServerSender(server, { auto_approve_subscriptions: true });
      const msg = subscribeMessage(`sub-${mode}`, [{
        reg_event_type: "update",
        notify_record_type: "person",
      }]);
      const ack = await send(server, s, "/registry/subscribe", msg, `${rx.url}/${mode}`);
      assert.equal(ack.status, 202, JSON.stringify(ack.body));
      senders.push([mode, s.senderId] as const);
    }
    await until("both subscribed", async () => {
      const subs = (await admin(server, "GET", "/subscriptions?state=active")).body.items as unknown[];
      return subs.length === 2 ? true : undefined;
    });
    assert.equal((await admin(server, "PUT", "/registrants/F-1", person("F-1"))).status, 200);
    assert.equal(
      (await admin(server, "PUT", "/registrants/F-1", person("F-1", { sex: "male" }))).status,
      200,
    );
    for (const [mode, senderId] of senders) {
      const rows = await until(`${mode} notifications settled`, async () => {
        const items = (await admin(server, "GET", `/notifications?sender_id=${senderId}`)).body
          .items as Array<
            Record<string, unknown>
          >;
        return items.length > 0 && items.every((n) => n.status === "sent" || n.status === "failed")
          ? items
          : undefined;
      });
      for (const n of rows) {
        if (mode === "slow") assert.equal(n.status, "sent", JSON.stringify(n));
        else {
          assert.equal(n.status, "failed", JSON.stringify(n));
          assert.match(String(n.last_error), /timeout/);
          assert.equal(n.attempts, 3);
        }
      }
    }
  } finally {
    await server.stop();
    await rx.close();
  }
});
