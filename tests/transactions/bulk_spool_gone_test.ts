/**
 * A bulk search whose spool file is gone (a SQLite data dir restored from a backup, which holds the database and
 * not the upload files beside it) ends at once with the reason, instead of failing every resumption until its
 * processing attempts run out.
 */
import assert from "node:assert/strict";
import { createServerSender, startWorkerServer, waitForState } from "./e2e_support.ts";
import { startReceiver } from "./receiver.ts";
import { bulkForm, demoUins, fileText, postBulk, searchTxnStatus } from "./bulk_support.ts";

type Json = Record<string, unknown>;

Deno.test("bulk search: a spool file gone after a restart ends the search rjct with the reason, its spool removed", async () => {
  const receiver = startReceiver({ delayMs: 200 });
  const env = { DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "100", DCI_BULK_PAGE_SIZE: "10" };
  const first = await startWorkerServer(env);
  let second;
  try {
    const alice = await createServerSender(first);
    const uins = demoUins(100);
    const sent = Array.from(
      { length: 200 },
      (_, i) => ({ ref: `g${i}`, type: "UIN", value: uins[i % uins.length] }),
    );
    const form = await bulkForm(alice.senderId, {
      format: "csv",
      file: fileText("csv", sent),
      senderUri: receiver.url,
      transactionId: "bulk-gone",
    });
    const res = await postBulk(`${first.url}/registry/search`, alice, form);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const correlation = String((res.body.message as Json).correlation_id);
    await receiver.waitFor((rs) => rs.length >= 2, 30_000);
    await first.stop("SIGKILL");
    // What a restore into a fresh data dir leaves: the database without the upload's spool file.
    const files = [...Deno.readDirSync(`${first.dataDir}/bulk`)].map((e) => e.name);
    assert.equal(files.length, 1);
    await Deno.remove(`${first.dataDir}/bulk/${files[0]}`);
    second = await startWorkerServer(env, first.dataDir);
    const done = await waitForState(second, correlation, "callback_failed", 30_000);
    assert.equal(done.status, "rjct");
    assert.match(String(done.status_reason_message), /gone from the server's spool.*send the file again/);
    assert.equal((done.bulk as Json).pages_total, 20);
    assert.ok(Number((done.bulk as Json).pages_delivered) < 20);
    // No callback tells the sender why; txn/status does.
    const status = await searchTxnStatus(second, alice, "bulk-gone", receiver.url);
    assert.match(
      JSON.stringify(status),
      /"status":"rjct".*lookups answered and delivered; .*gone from the server's spool/,
    );
    assert.deepEqual([...Deno.readDirSync(`${first.dataDir}/bulk`)], []);
  } finally {
    await first.stop("SIGKILL").catch(() => {});
    await second?.stop();
    await receiver.close();
  }
});
