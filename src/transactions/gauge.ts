/** The async transaction queue depth gauge (by state), registered once per metrics registry. */
import type { Deps } from "../deps.ts";

const gauged = new WeakSet<object>();

/** Registers `dci_txn_queue_depth` on this isolate's metrics (a second call is a no-op). */
export function registerTxnGauge(deps: Pick<Deps, "metrics" | "storage">): void {
  if (gauged.has(deps.metrics)) return;
  gauged.add(deps.metrics);
  deps.metrics.gauge(
    "dci_txn_queue_depth",
    "Async transactions by state (open states and callback_failed)",
    async () =>
      (await deps.storage.transactions.stateCounts()).map((r) => ({
        labels: { state: r.state },
        value: r.n,
      })),
  );
}
