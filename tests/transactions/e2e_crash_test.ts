import assert from "node:assert/strict";
import { adminGet, createServerSender, send, startWorkerServer } from "./e2e_support.ts";
import { startReceiver } from "./receiver.ts";
import { type Json, searchMessage } from "./support.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

/**
 * On PostgreSQL a restarted instance releases no lease (another instance may hold it and be working): the work and
 * the lanes the killed one held are redone once its leases lapse, so these servers lease for 5 s, not 60.
 */
const LEASE: Record<string, string> = TEST_BACKEND === "postgres" ? { DCI_LEASE_SECONDS: "5" } : {};

Deno.test("e2e: SIGKILL mid-stream loses nothing: after a restart every ACKed transaction is called back", async () => {
  // A slow receiver keeps callbacks in flight when the server dies.
  const receiver = startReceiver({ delayMs: 20 });
  const first = await startWorkerServer(LEASE);
  let second;
  try {
    const alice = await createServerSender(first);
    const acked = new Set<string>();
    let next = 0;
    let killed = false;
    const total = 240;
    const client = async () => {
      while (next < total) {
        const i = next++;
        try {
          const res = await send(first, alice, "/registry/search", searchMessage(`crash-${i}`), receiver.url);
          if (res.status === 202) acked.add((res.body.message as Record<string, string>).correlation_id);
        } catch {
          // The server is gone: this request may or may not have been stored; only ACKed ones are promised.
        }
        if (acked.size >= 120 && !killed) {
          killed = true;
          await first.stop("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    assert.ok(killed);
    const deliveredBeforeRestart = new Set(
      receiver.received.map((r) => (r.body.message as Json)?.correlation_id),
    );
    assert.ok(acked.size >= 120);
    assert.ok(deliveredBeforeRestart.size < acked.size, "the kill must come before every callback is out");
    second = await startWorkerServer(LEASE, first.dataDir);
    // The start-up sweep (not the KV queue, which may idle ~60 s after a SIGKILL) redoes the open work.
    const swept = await second.waitForLog((l) =>
      l.msg === "sweeper redid transactions" && l.startup === true
    );
    console.log(
      `acked ${acked.size}, delivered before kill ${deliveredBeforeRestart.size}, swept ${swept.count}`,
    );
    assert.ok(Number(swept.count) > 0);
    await receiver.waitFor((rs) => {
      const got = new Set(
        rs.filter((r) => r.status === 200).map((r) => (r.body.message as Json)?.correlation_id),
      );
      return [...acked].every((c) => got.has(c));
    }, 30_000);
    // Every stored transaction (ACKed or caught mid-request) ended in callback_sent.
    const sent = await adminGet(second, "/transactions?state=callback_sent&limit=500");
    const open = await Promise.all(
      ["received", "pending", "processing", "succeeded", "rejected", "callback_failed"].map((s) =>
        adminGet(second!, `/transactions?state=${s}`)
      ),
    );
    assert.deepEqual(open.map((o) => (o.items as unknown[]).length), [0, 0, 0, 0, 0, 0]);
    const stored = new Set((sent.items as Array<Record<string, string>>).map((i) => i.correlation_id));
    for (const c of acked) assert.ok(stored.has(c), `ACKed ${c} is stored as callback_sent`);
  } finally {
    await first.stop("SIGKILL");
    await second?.stop();
    await receiver.close();
  }
});
