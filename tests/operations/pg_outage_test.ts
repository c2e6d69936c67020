/**
 * A server on PostgreSQL while the database is down for a few seconds: its background tasks (the sweeper's tick
 * waking the import runner every second here) meet the outage, and the process must stay up and serve again once
 * the database is back, without a restart.
 */
import assert from "node:assert/strict";
import { startPostgres } from "../helpers/postgres.ts";
import { ADMIN_TOKEN, startWorkerServer } from "../transactions/e2e_support.ts";
import { clusterFaults } from "./pg_outage_support.ts";

/** Whether `exited` has settled within `ms`. */
async function exitedWithin(exited: Promise<Deno.CommandStatus>, ms: number): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const quiet = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms));
  const r = await Promise.race([exited.then((s) => `exited with code ${s.code}`), quiet]);
  clearTimeout(timer);
  return r;
}

/** The status of an admin listing (which reads the database). */
async function adminStatus(url: string): Promise<number> {
  const res = await fetch(`${url}/admin/v1/transactions?limit=1`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("serve on PostgreSQL: the database down for 3 s across sweep ticks leaves the process up; it serves again once the database is back", async () => {
  const cluster = await startPostgres();
  const faults = clusterFaults(cluster);
  const server = await startWorkerServer({
    DCI_DATABASE_URL: await cluster.createDatabase("outage"),
    DCI_SWEEP_INTERVAL_SECONDS: "1",
  });
  try {
    assert.equal(await adminStatus(server.url), 200);
    await faults.stop();
    // Three sweep ticks, each waking the import runner, whose look for jobs fails while the database is down.
    const during = await exitedWithin(server.exited, 3_000);
    assert.equal(during, undefined, `the server ${during} during the outage:\n${server.stderr()}`);
    assert.equal(await adminStatus(server.url), 503);
    await faults.start();
    let status = 0;
    for (const start = Date.now(); Date.now() - start < 10_000 && status !== 200;) {
      status = await adminStatus(server.url);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, "the server did not serve again within 10 s of the database's restart");
    const after = await exitedWithin(server.exited, 1_500); // the retry timer's next pass, on the database again
    assert.equal(after, undefined, `the server ${after} after the outage:\n${server.stderr()}`);
    assert.ok(
      server.logs.some((l) =>
        l.msg === "import runner could not look for jobs; retrying" && l.level === "warn"
      ),
      "the runner's failed pass is logged as a warning",
    );
  } finally {
    await server.stop("SIGKILL").catch(() => 0);
    await cluster.stop();
  }
});
