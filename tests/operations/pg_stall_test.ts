/**
 * A server on a PostgreSQL that accepts TCP but answers nothing (every process of the cluster SIGSTOPped: a hung
 * primary, a silent partition): requests answer 503 with Retry-After within about DCI_DATABASE_QUERY_TIMEOUT_MS
 * and its check on a new connection (or the pool's 5 s wait for a new connection), instead of being held for as
 * long as the stall lasts; once the database answers again, the server serves again without a restart.
 */
import assert from "node:assert/strict";
import { startPostgres } from "../helpers/postgres.ts";
import { ADMIN_TOKEN, startWorkerServer } from "../transactions/e2e_support.ts";
import { clusterFaults } from "./pg_outage_support.ts";

/** GET `path` with the admin token: status, Retry-After, and how long the answer took. */
async function get(
  url: string,
  path: string,
): Promise<{ status: number; retryAfter: string | null; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${url}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(30_000),
  });
  await res.body?.cancel();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ms: Date.now() - t0 };
}

Deno.test("serve on PostgreSQL: a frozen database makes requests answer 503 within the query timeout and its check; 200 again once it answers", async () => {
  const cluster = await startPostgres();
  const faults = clusterFaults(cluster);
  const server = await startWorkerServer({
    DCI_DATABASE_URL: await cluster.createDatabase("stall"),
    DCI_DATABASE_QUERY_TIMEOUT_MS: "2000",
  });
  try {
    // Connections open in the pool, as on a server that has been serving.
    const warm = await Promise.all(
      Array.from({ length: 4 }, () => get(server.url, "/admin/v1/transactions?limit=1")),
    );
    assert.deepEqual(warm.map((r) => r.status), [200, 200, 200, 200]);
    await faults.freeze();
    const thaw = setTimeout(() => faults.thaw(), 30_000); // a stall that ends, whatever the server does
    const during = await Promise.all([
      ...Array.from({ length: 4 }, () => get(server.url, "/admin/v1/transactions?limit=1")),
      get(server.url, "/readyz"),
    ]);
    clearTimeout(thaw);
    faults.thaw();
    for (const r of during) {
      assert.equal(r.status, 503, JSON.stringify(during));
      // 2 s unanswered and up to 2 s for the check (a request that needed a new connection: the pool's 5 s),
      // long before the stall ended.
      assert.ok(r.ms < 25_000, `answered after ${r.ms} ms: ${JSON.stringify(during)}`);
    }
    assert.ok(during.slice(0, 4).every((r) => r.retryAfter !== null), JSON.stringify(during));
    let status = 0;
    for (const start = Date.now(); Date.now() - start < 10_000 && status !== 200;) {
      status = (await get(server.url, "/admin/v1/transactions?limit=1")).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, "the server did not serve again within 10 s of the database answering");
  } finally {
    faults.thaw();
    await server.stop("SIGKILL").catch(() => 0);
    await cluster.stop();
  }
});
