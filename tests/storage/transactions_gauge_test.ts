/** The queue depth gauge reads the transaction store, on either backend, when /metrics is rendered. */
import { equal, match } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { iso, newTxn, T0 } from "../helpers/txn_rows.ts";
import { Metrics } from "../../src/obs/metrics.ts";
import { registerTxnGauge } from "../../src/transactions/gauge.ts";

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
