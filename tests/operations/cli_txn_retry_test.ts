/**
 * `dci-server txn retry` from another process wakes the running server's worker at once (issue 14 §5). The CLI
 * writes the reopened callback to SQLite; the server's arrival poll finds it. The sweeper runs once an hour here
 * and a KV message from another process reaches the server's listener only when its idle poll comes round
 * (about a minute), so only the cross-process wake-up can deliver the callback within the bound.
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { createServerSender, send, startWorkerServer, waitForState } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { searchMessage } from "../transactions/support.ts";

/** Far below the sweep interval (3600 s) and the ~60 s a cross-process KV message waits. */
const BOUND_MS = 20_000;

Deno.test("txn retry (CLI process): the running server delivers the reopened callback without waiting for the sweeper", async () => {
  const receiver = startReceiver();
  receiver.respond = () => 503;
  const server = await startWorkerServer({
    DCI_SWEEP_INTERVAL_SECONDS: "3600",
    DCI_CALLBACK_RETRY_DELAYS_MS: "50",
  });
  try {
    const alice = await createServerSender(server);
    const sent = await send(server, alice, "/registry/search", searchMessage("cli-retry"), receiver.url);
    assert.equal(sent.status, 202);
    const correlationId = (sent.body.message as Record<string, string>).correlation_id;
    await waitForState(server, correlationId, "callback_failed", BOUND_MS);
    assert.equal(receiver.hits, 2, "one attempt and one retry, both refused");
    receiver.respond = () => 200;
    const retry = await runCliProcess(["txn", "retry", correlationId, "--json"], {
      DCI_DATA_DIR: server.dataDir,
    });
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(JSON.parse(retry.stdout).correlation_id, correlationId);
    await receiver.waitFor((rs) => rs.some((r) => r.status === 200), BOUND_MS);
    await waitForState(server, correlationId, "callback_sent", BOUND_MS);
    assert.equal(receiver.received.filter((r) => r.status === 200).length, 1);
  } finally {
    await server.stop();
    await receiver.close();
  }
});
