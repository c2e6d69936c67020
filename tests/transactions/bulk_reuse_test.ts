/**
 * A bulk upload's message_id met again (src/transactions/bulk_accept.ts): a copy of the upload racing the first
 * gets the one stored ACK; the same message_id reused for a new upload long after (the spec lets a sender use it
 * again once ACKed) is a search of its own, its file kept, not the old search's ACK with the file thrown away.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { acceptBulk } from "../../src/transactions/bulk_accept.ts";
import type { RequestHeader } from "../../src/dci/schemas.ts";

Deno.test("acceptBulk(): a racing copy of an upload gets its ACK; its message_id reused later (a new message_ts) is a new search", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    const upload = async (transactionId: string, messageTs = new Date(deps.clock.now()).toISOString()) => {
      const spool = `${crypto.randomUUID()}.lookups`;
      const w = await deps.storage.spools.create(spool);
      w.line("UIN\tU-1\t1");
      await w.commit();
      const header = {
        version: "1.0.0",
        message_id: "m-reused",
        message_ts: messageTs,
        action: "search",
        sender_id: "partner-a",
        sender_uri: "http://127.0.0.1:9/dci",
        total_count: 1,
      } as unknown as RequestHeader;
      const accepted = await acceptBulk(deps, {
        registry: "social",
        senderId: "partner-a",
        header,
        transactionId,
        upload: { fields: {}, fileName: "lookups.csv", format: "csv", items: 1, spool },
      });
      const kept = (await deps.storage.spools.reader(spool).read(0, 10)).lines.length > 0;
      return { ...accepted, kept };
    };
    const firstTs = new Date(deps.clock.now()).toISOString();
    const first = await upload("T-1", firstTs);
    assert.ok(first.kept);
    deps.clock.advance(5_000);
    const copy = await upload("T-1", firstTs);
    assert.equal(copy.correlationId, first.correlationId, "a racing copy gets the stored ACK");
    assert.equal(copy.kept, false, "and its spool is removed");

    deps.clock.advance(3 * deps.config.replayWindowSeconds * 1000); // the replay guard has let the id go
    const reusedTs = new Date(deps.clock.now()).toISOString();
    const reused = await upload("T-2", reusedTs);
    assert.notEqual(reused.correlationId, first.correlationId, "a new search");
    assert.ok(reused.kept, "its file is kept");
    const rows = await deps.sql(
      "SELECT transaction_id, correlation_id FROM transactions WHERE message_id = 'm-reused' ORDER BY id",
    );
    assert.deepEqual(rows.map((r) => [r.transaction_id, r.correlation_id]), [
      ["T-1", first.correlationId],
      ["T-2", reused.correlationId],
    ]);
    // A racing copy of the new upload gets its ACK in turn.
    deps.clock.advance(1_000);
    const newCopy = await upload("T-2", reusedTs);
    assert.equal(newCopy.correlationId, reused.correlationId);
    assert.equal(newCopy.kept, false);
  } finally {
    deps.close();
  }
});
