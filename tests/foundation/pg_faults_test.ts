/**
 * PostgreSQL's passing faults on real failures (src/db/faults.ts): a database that cannot be reached, a connection
 * the server ends, a pool with no free connection in time — each unavailable and transient (503 on a request,
 * work retried); a mistake of the statement or a constraint — neither.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../src/http/context.ts";
import { renderError } from "../../src/http/errors.ts";
import { withTestDeps } from "../helpers/deps.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgSessionLock, pgTransaction } from "../../src/db/pg/query.ts";
import { faultLevel, isDatabaseUnavailable, isTransientStorageFault } from "../../src/db/faults.ts";
import { newPgDatabase } from "../helpers/postgres.ts";

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

/** The driver's error for a database nothing listens for (a port just released). */
async function refusedError(): Promise<unknown> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const nowhere = openPgPool(`postgres://u:p@127.0.0.1:${port}/db`, { max: 1 });
  try {
    return await failure(() => nowhere.query("SELECT 1"));
  } finally {
    await nowhere.end();
  }
}

Deno.test("PostgreSQL faults: unreachable, terminated and pool-starved are unavailable and transient", async () => {
  const refused = await refusedError();
  ok(isDatabaseUnavailable(refused), String(refused));
  ok(isTransientStorageFault(refused));

  const url = await newPgDatabase("f");
  const pool = openPgPool(url, { max: 1, connectTimeoutMs: 200 });
  const admin = openPgPool(url, { max: 1 });
  try {
    const held = await pool.connect();
    const starved = await failure(() => pool.query("SELECT 1"));
    ok(isDatabaseUnavailable(starved), String(starved));
    held.on("error", () => {});
    const pid = (await held.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    const sleeping = failure(() => held.query("SELECT pg_sleep(10)"));
    await new Promise((r) => setTimeout(r, 100));
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    const terminated = await sleeping;
    held.release(true);
    equal((terminated as { code?: string }).code, "57P01");
    ok(isDatabaseUnavailable(terminated));

    const syntax = await failure(() => admin.query("SELEC 1"));
    await admin.query("CREATE TABLE u (k int PRIMARY KEY)");
    await admin.query("INSERT INTO u VALUES (1)");
    // A server that takes reads only (a standby, or the old primary during a failover while the address still
    // names it): a write is refused 25006, which passes with the failover.
    const readOnly = await failure(() =>
      admin.query("BEGIN READ ONLY; INSERT INTO u VALUES (2); COMMIT").finally(() => admin.query("ROLLBACK"))
    );
    equal((readOnly as { code?: string }).code, "25006");
    ok(isDatabaseUnavailable(readOnly), String(readOnly));
    ok(isTransientStorageFault(readOnly));
    // Its connection is not pooled again: the next transaction gets a new one (of another server, after a
    // failover), where a pooled one would keep meeting the read-only server.
    const backend = () =>
      pgTransaction(
        admin,
        async (c) => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid,
      );
    const before = await backend();
    equal(await backend(), before, "a connection is pooled");
    const inTransaction = await failure(() =>
      pgTransaction(admin, (c) => c.query("INSERT INTO u VALUES (3)"), "BEGIN READ ONLY")
    );
    equal((inTransaction as { code?: string }).code, "25006");
    ok(await backend() !== before, "the read-only server's connection was dropped");
    // A name the resolver could not look up this time (a DNS server's hiccup), as a refused connection.
    ok(isDatabaseUnavailable(Object.assign(new Error("getaddrinfo EAI_AGAIN db"), { code: "EAI_AGAIN" })));
    const duplicate = await failure(() => admin.query("INSERT INTO u VALUES (1)"));
    for (const e of [syntax, duplicate]) {
      equal(isDatabaseUnavailable(e), false, String(e));
      equal(isTransientStorageFault(e), false, String(e));
    }
  } finally {
    await pool.end();
    await admin.end();
  }
});

Deno.test("PostgreSQL faults: a request meeting an unreachable database is answered 503 with Retry-After", async () => {
  const refused = await refusedError();
  await withTestDeps({}, async (deps) => {
    const app = new Hono<AppEnv>();
    app.get("/x", () => {
      throw refused;
    });
    app.onError((err, c) => renderError(err, c, deps));
    const res = await app.request("/x");
    equal(res.status, 503);
    ok(Number(res.headers.get("retry-after")) > 0);
    match(await res.text(), /database is unavailable/);
  });
});

Deno.test("PostgreSQL faults: a connection lost while a transaction or a session lock waits on other work fails that work, not the process", async () => {
  const url = await newPgDatabase("f");
  const pool = openPgPool(url, { max: 1 });
  const admin = openPgPool(url, { max: 1 });
  /**
   * Ends `pid`'s backend and waits until it is gone and its client has had time to hear of it: the "error" event
   * then fires between queries, with no listener of the test's (one would hide the fault under test).
   */
  const kill = async (pid: number) => {
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    while ((await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
  };
  try {
    // In a transaction, idle between two statements (as while it waits for the next batch of a load).
    const inTransaction = await failure(() =>
      pgTransaction(pool, async (c) => {
        const pid = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
        await kill(pid);
        await c.query("SELECT 1");
      })
    );
    ok(isDatabaseUnavailable(inTransaction), String(inTransaction));
    // Holding a session lock, idle while its work runs elsewhere.
    const underLock = await failure(() =>
      pgSessionLock(pool, 7, async (c) => {
        const pid = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
        await kill(pid);
        throw new Error("the work failed on its own");
      })
    );
    match(String(underLock), /the work failed on its own/);
    // The lost connections were discarded: the pool's one connection is a fresh, working one.
    equal((await pool.query<{ n: number }>("SELECT 1 AS n")).rows[0].n, 1);
    equal(pool.totalCount, 1);
  } finally {
    await pool.end();
    await admin.end();
  }
});

Deno.test("PostgreSQL: each pooled connection has the server keep its TCP alive, so a dead host's session and locks end", async () => {
  const pool = openPgPool(await newPgDatabase("k"), { max: 1 });
  try {
    // Over TCP (the tests' cluster listens on 127.0.0.1): a Unix-domain socket would read 0 whatever was asked.
    const { rows } = await pool.query<Record<string, string>>(
      `SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS every,
        current_setting('tcp_keepalives_count') AS probes, inet_server_addr() IS NOT NULL AS tcp`,
    );
    deepEqual(rows[0], { idle: "10", every: "5", probes: "3", tcp: true });
  } finally {
    await pool.end();
  }
});

Deno.test("faults: a background pass that meets a database out of reach or busy logs a warning, a full disk or anything else an error", () => {
  equal(
    faultLevel(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })),
    "warn",
  );
  equal(
    faultLevel(Object.assign(new Error("the database system is shutting down"), { code: "57P03" })),
    "warn",
  );
  equal(faultLevel(Object.assign(new Error("database is locked"), { errcode: 5 })), "warn");
  equal(faultLevel(Object.assign(new Error("database or disk is full"), { errcode: 13 })), "error");
  equal(faultLevel(new TypeError("x is undefined")), "error");
});
