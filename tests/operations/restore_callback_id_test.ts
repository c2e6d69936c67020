/**
 * A transaction ACKed before a backup and delivered after it is processed and delivered again once that backup is
 * restored: under the same message_id, so that its receiver can de-duplicate it (README, Backups).
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { createServerSender, send, startWorkerServer } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { type Json, searchMessage } from "../transactions/support.ts";

Deno.test("a callback delivered after a backup comes again after its restore under the same message_id", async () => {
  const receiver = startReceiver();
  const dir = await Deno.makeTempDir({ prefix: "dci-restore-cbid-" });
  try {
    // HTTP only: the transaction is ACKed and stored, nothing processes it yet.
    const a = await startWorkerServer({ DCI_WORKER: "false" });
    const alice = await createServerSender(a);
    const res = await send(a, alice, "/registry/search", searchMessage("cbid-1"), receiver.url);
    assert.equal(res.status, 202);
    const correlationId = (res.body as Json).message.correlation_id;
    const file = `${dir}/before-delivery.sqlite`;
    const backup = await runCliProcess(["backup", file], { DCI_DATA_DIR: a.dataDir });
    assert.equal(backup.code, 0, backup.stderr);
    await a.stop();

    const b = await startWorkerServer({}, a.dataDir);
    await receiver.waitFor((r) => r.length >= 1);
    await b.stop();
    const restored = await runCliProcess(["restore", file, "--replace"], { DCI_DATA_DIR: a.dataDir });
    assert.equal(restored.code, 0, restored.stderr);
    const c = await startWorkerServer({}, a.dataDir);
    await receiver.waitFor((r) => r.length >= 2);
    await c.stop();

    const ids = receiver.received.map((
      r,
    ) => [(r.body as Json).message.correlation_id, (r.body as Json).header.message_id]);
    assert.equal(ids.length, 2);
    assert.deepEqual(ids.map(([cid]) => cid), [correlationId, correlationId]);
    assert.equal(ids[1][1], ids[0][1], "the same message_id before and after the restore");
    await Deno.remove(a.dataDir, { recursive: true });
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
