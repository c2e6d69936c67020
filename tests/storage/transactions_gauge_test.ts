/**
 * The queue depth gauge reads the transaction store, on either backend, when /metrics is rendered; a list reads
 * its rows' summary columns only.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { iso, newTxn, T0 } from "../helpers/txn_rows.ts";
import { Metrics } from "../../src/obs/metrics.ts";
import { registerTxnGauge } from "../../src/transactions/gauge.ts";
import { TXN_LIST_COLUMNS } from "../../src/transactions/txn_sql.ts";
import { summarize } from "../../src/transactions/operations.ts";

backendTest("registerTxnGauge(): renderAll reports transactions by state from the store", async (s) => {
  const metrics = new Metrics();
  registerTxnGauge({ metrics, storage: s });
  for (const tid of ["a", "b", "c"]) await s.transactions.insert(newTxn("s1", tid));
  const claimed = (await s.transactions.list({ limit: 1 }))[0];
  await s.transactions.claimProcessing(claimed.id, "w", iso(T0), iso(T0 + 60_000));
  const text = await metrics.renderAll();
  match(text, /^dci_txn_queue_depth\{state="received"\} 2$/m);
  match(text, /^dci_txn_queue_depth\{state="processing"\} 1$/m);
  match(text, /^dci_txn_queue_depth\{state="callback_failed"\} 0$/m);
  // The synchronous render has no database to wait for: it leaves the async gauge out rather than block.
  equal(/dci_txn_queue_depth\{/.test(metrics.render()), false);
});

backendTest(
  "transactions.list(): a listed row holds its summary's columns only, never the request or answer",
  async (s) => {
    const big = { ...newTxn("s1", "big"), request_message: JSON.stringify({ padding: "x".repeat(100_000) }) };
    await s.transactions.insert(big);
    const [row] = await s.transactions.list({ limit: 10 });
    deepEqual(Object.keys(row).sort(), [...TXN_LIST_COLUMNS].sort());
    equal(summarize(row).transaction_id, "big");
    equal(summarize(row).status, "rcvd");
  },
);
