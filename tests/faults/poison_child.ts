/**
 * A worker process for the crash-loop test in poisoned_work_test.ts. Usage: `poison_child.ts DATA_DIR CORRELATION_ID [DATABASE_URL]`
 * (a database URL: on PostgreSQL instead of the data dir's SQLite file).
 * Its search processor kills the process (as an abort, or an operator's SIGKILL of a wedged worker, would). It
 * runs the start-up sweep once, then prints the transaction row as JSON and exits.
 */
import { closeDeps, openDeps } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/obs/log.ts";
import type { Processor } from "../../src/dci/processor.ts";
import { createWorker } from "../../src/actions/worker.ts";
import { sweepTransactions } from "../../src/jobs/sweeper.ts";

const [dataDir, correlationId, databaseUrl = ""] = Deno.args;
const kill: Processor = () => {
  Deno.kill(Deno.pid, "SIGKILL");
  return new Promise(() => {});
};
const deps = await openDeps(
  // On PostgreSQL start-up releases no lease (another instance may hold it): a killed start's lapses in 1 s.
  testConfig({
    dataDir,
    databaseUrl,
    outboundAllow: "127.0.0.1",
    processAttempts: "2",
    ...(databaseUrl ? { leaseSeconds: "1" } : {}),
  }),
  { log: silentLogger },
);
try {
  await sweepTransactions(deps, createWorker(deps, { processors: { search: kill } }).handle, {
    startup: true,
  });
  console.log(JSON.stringify(await deps.storage.transactions.getByCorrelationId(correlationId)));
} finally {
  await closeDeps(deps);
}
