/**
 * openPgPool's query watch on a real PostgreSQL: a query a frozen database (every process SIGSTOPped: it accepts
 * TCP and answers nothing, as a hung primary or a silent partition) leaves unanswered fails after queryTimeoutMs
 * and the check on a new connection, as "database unavailable" (a 503), and its connection is dropped; once the
 * database answers again the pool serves again. A query the database is working on (a long statement, a lock
 * wait) is never cut.
 */
import assert from "node:assert/strict";
import { startPostgres } from "../helpers/postgres.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgTransaction } from "../../src/db/pg/query.ts";
import { isDatabaseUnavailable } from "../../src/db/faults.ts";
import { clusterFaults } from "../operations/pg_outage_support.ts";

/** Settles `p`; resolves with its error (or "resolved") and how long it took from `t0`. */
async function outcome(p: Promise<unknown>, t0: number): Promise<{ err: unknown; ms: number }> {
  const err = await p.then(() => "resolved", (e) => e);
  return { err, ms: Date.now() - t0 };
}

Deno.test("openPgPool(): a frozen database fails queries after queryTimeoutMs and the check (503), drops their connections, and serves again once it answers", async () => {
  const cluster = await startPostgres();
  const faults = clusterFaults(cluster);
  const pool = openPgPool(cluster.url, { max: 3, queryTimeoutMs: 1000, onIdleError: () => {} });
  try {
    await Promise.all([pool.query("SELECT 1"), pool.query("SELECT 1")]); // two connections open
    await faults.freeze();
    const t0 = Date.now();
    const thaw = setTimeout(() => faults.thaw(), 20_000); // a stall that ends, whatever the pool does
    const [plain, inTransaction] = await Promise.all([
      outcome(pool.query("SELECT 1"), t0),
      outcome(pgTransaction(pool, (c) => c.query("SELECT 2")), t0),
    ]);
    clearTimeout(thaw);
    faults.thaw();
    for (const r of [plain, inTransaction]) {
      assert.ok(isDatabaseUnavailable(r.err), `not a database-unavailable error: ${r.err}`);
      assert.match(String(r.err), /PostgreSQL did not answer within 1000 ms/);
      // 1 s unanswered, then up to 1 s for the check on a new connection: failed, not answered after the thaw.
      assert.ok(r.ms >= 1000 && r.ms < 15_000, `failed after ${r.ms} ms`);
    }
    assert.equal(pool.totalCount, 0, "the silent connections went back to the pool");
    assert.equal((await pool.query("SELECT 3 AS n")).rows[0].n, 3);
  } finally {
    faults.thaw();
    await pool.end();
    await cluster.stop();
  }
});

Deno.test("openPgPool(): a query the database is still working on (a long statement, a wait for another session's lock) outlasts queryTimeoutMs", async () => {
  const cluster = await startPostgres();
  const pool = openPgPool(cluster.url, { max: 2, queryTimeoutMs: 300 });
  const holder = openPgPool(cluster.url, { max: 1 });
  try {
    assert.equal((await pool.query("SELECT pg_sleep(1.2), 7 AS n")).rows[0].n, 7);
    const held = await holder.connect();
    await held.query("SELECT pg_advisory_lock(42)");
    const waiting = pool.query("SELECT pg_advisory_lock(42), 8 AS n");
    await new Promise((r) => setTimeout(r, 1000));
    await held.query("SELECT pg_advisory_unlock(42)");
    held.release();
    assert.equal((await waiting).rows[0].n, 8);
  } finally {
    await Promise.all([pool.end(), holder.end()]);
    await cluster.stop();
  }
});

/**
 * A loopback proxy between the pool and the database that stops forwarding the connections open so far (what a
 * connection silently dropped on the way looks like) while new ones still pass.
 */
function silencingProxy(target: URL): { url: string; silence(): void; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let silentBelow = 0;
  let opened = 0;
  (async () => {
    for await (const down of listener) {
      const id = opened++;
      const up = await Deno.connect({ hostname: "127.0.0.1", port: Number(target.port) });
      conns.push(down, up);
      const pump = async (from: Deno.Conn, to: Deno.Conn) => {
        const buf = new Uint8Array(65536);
        try {
          for (let n = await from.read(buf); n !== null; n = await from.read(buf)) {
            if (id >= silentBelow) await to.write(buf.subarray(0, n));
          }
        } catch { /* closed */ }
      };
      void pump(down, up);
      void pump(up, down);
    }
  })().catch(() => {});
  const url = new URL(target.href);
  url.port = String((listener.addr as Deno.NetAddr).port);
  return {
    url: url.href,
    silence: () => silentBelow = opened,
    close: () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
    },
  };
}

Deno.test("openPgPool(): a connection gone silent on the way, while new connections get through, fails its query after queryTimeoutMs (503) and is dropped", async () => {
  const cluster = await startPostgres();
  const proxy = silencingProxy(new URL(cluster.url));
  const pool = openPgPool(proxy.url, { max: 1, queryTimeoutMs: 1000, onIdleError: () => {} });
  try {
    assert.equal((await pool.query("SELECT 1 AS n")).rows[0].n, 1);
    proxy.silence();
    const t0 = Date.now();
    const r = await outcome(pool.query("SELECT 2"), t0);
    assert.ok(isDatabaseUnavailable(r.err), `not a database-unavailable error: ${r.err}`);
    // The check's new connection answered: the server process of the silent one runs no query.
    assert.match(
      String(r.err),
      /did not answer this connection within 1000 ms \(its server process is idle\)/,
    );
    assert.ok(r.ms >= 1000 && r.ms < 20_000, `failed after ${r.ms} ms`);
    assert.equal((await pool.query("SELECT 3 AS n")).rows[0].n, 3, "a new connection serves");
  } finally {
    await pool.end().catch(() => {});
    proxy.close();
    await cluster.stop();
  }
});
