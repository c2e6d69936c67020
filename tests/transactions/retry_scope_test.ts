/**
 * An operator's retry of a failed callback (retryCallback) is refused for a transaction older than its sender's
 * registration (the id was deleted and registered again since), with txn status's minute of slack for clocks
 * that differ between instances on PostgreSQL.
 */
import { deepEqual, equal } from "node:assert/strict";
import { harness, searchMessage } from "./support.ts";
import { retryCallback } from "../../src/transactions/operations.ts";

Deno.test("retryCallback() takes a sender registered up to a minute after its transaction as its own, not one later", async () => {
  const h = await harness();
  try {
    const res = await h.post("/registry/search", searchMessage("t-retry-scope"));
    const cid = (res.body.message as { correlation_id: string }).correlation_id;
    const row = (await h.deps.storage.transactions.getByCorrelationId(cid))!;
    const fail = () => h.deps.sql("UPDATE transactions SET state = 'callback_failed' WHERE id = ?", [row.id]);
    const registered = (ms: number) =>
      h.deps.sql("UPDATE senders SET created_at = ? WHERE sender_id = ?", [
        new Date(Date.parse(row.created_at) + ms).toISOString(),
        h.alice.senderId,
      ]);
    await fail();
    await registered(30_000); // another instance's clock, half a minute ahead
    const retried = await retryCallback(h.deps, cid);
    equal(retried.ok, true, JSON.stringify(retried));
    await fail();
    await registered(61_000); // the id registered again after the transaction
    deepEqual(await retryCallback(h.deps, cid), { ok: false, reason: "sender_deleted" });
  } finally {
    h.close();
  }
});
