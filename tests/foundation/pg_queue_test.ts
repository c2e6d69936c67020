/**
 * The PostgreSQL job queue (src/jobs/pg_queue.ts) on a real cluster: wake-ups cross instances by LISTEN/NOTIFY,
 * stay local when this process has the worker, wait out their delay, and the listener comes back after its
 * connection is killed.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { pgQueue } from "../../src/jobs/pg_queue.ts";
import type { QueueMessage } from "../../src/jobs/queue.ts";
import { newPgDatabase } from "../helpers/postgres.ts";
import { createLogger } from "../../src/obs/log.ts";

async function withDatabase(fn: (open: () => PgPool) => Promise<void>): Promise<void> {
  const url = await newPgDatabase("q");
  const pools: PgPool[] = [];
  try {
    await fn(() => {
      const pool = openPgPool(url, { max: 2 });
      pools.push(pool);
      return pool;
    });
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

/** Resolves with the messages once `n` arrived (or what arrived by the deadline). */
function collector() {
  const got: Array<{ message: QueueMessage; at: number }> = [];
  const waiters: Array<() => void> = [];
  return {
    got,
    handler: (message: QueueMessage) => {
      got.push({ message, at: Date.now() });
      waiters.splice(0).forEach((w) => w());
      return Promise.resolve();
    },
    async until(n: number, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms;
      while (got.length < n && Date.now() < deadline) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          waiters.push(() => (clearTimeout(t), r()));
        });
      }
    },
  };
}

/** Until the instance's LISTEN connection is up (the listener connects in the background). */
async function listening(pool: PgPool, count = 1, exceptPid = 0): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'
       AND pid <> $1`,
      [exceptPid],
    );
    if (rows[0].n >= count) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("listener never connected");
}

/** A listening worker instance and a worker-less one on one database: `fn` enqueues on `web`, reads `c`. */
function withWorkerAndWeb(
  fn: (web: ReturnType<typeof pgQueue>, c: ReturnType<typeof collector>) => Promise<void>,
): Promise<void> {
  return withDatabase(async (open) => {
    const worker = pgQueue(open());
    const web = pgQueue(open());
    const c = collector();
    try {
      worker.listen(c.handler);
      await listening(open());
      await fn(web, c);
    } finally {
      await worker.close();
      await web.close();
    }
  });
}

Deno.test("pgQueue: a wake-up from an instance without a worker reaches another instance's worker", async () => {
  await withWorkerAndWeb(async (web, c) => {
    await web.enqueue({ kind: "txn", id: "41" });
    await web.enqueue({ kind: "txn", id: "42" });
    await c.until(2);
    deepEqual(c.got.map((g) => g.message), [{ kind: "txn", id: "41" }, { kind: "txn", id: "42" }]);
  });
});

Deno.test("pgQueue: with a worker in this process the wake-up stays local (other instances see nothing)", async () => {
  await withDatabase(async (open) => {
    const here = pgQueue(open());
    const there = pgQueue(open());
    const mine = collector();
    const theirs = collector();
    try {
      here.listen(mine.handler);
      there.listen(theirs.handler);
      const probe = open();
      await listening(probe, 2);
      await here.enqueue({ kind: "txn", id: "1" });
      await mine.until(1);
      // A NOTIFY sent now by a third, worker-less instance reaches both: proof that "there" listens, so its
      // silence about "1" means the local wake-up never went through PostgreSQL.
      await pgQueue(probe).enqueue({ kind: "txn", id: "2" });
      await theirs.until(1);
      await mine.until(2);
      deepEqual(theirs.got.map((g) => g.message.id), ["2"]);
      deepEqual(mine.got.map((g) => g.message.id).sort(), ["1", "2"]);
    } finally {
      await here.close();
      await there.close();
    }
  });
});

Deno.test("pgQueue: a delayed wake-up arrives after its delay, not before", async () => {
  await withWorkerAndWeb(async (web, c) => {
    const sent = Date.now();
    await web.enqueue({ kind: "callback", id: "7" }, { delayMs: 400 });
    await new Promise((r) => setTimeout(r, 200));
    equal(c.got.length, 0);
    await c.until(1);
    equal(c.got.length, 1);
    ok(c.got[0].at - sent >= 390, `arrived after ${c.got[0].at - sent} ms`);
  });
});

Deno.test("pgQueue: the listener connects again after its connection is killed", async () => {
  await withDatabase(async (open) => {
    const worker = pgQueue(open());
    const admin = open();
    const c = collector();
    try {
      worker.listen(c.handler);
      await listening(admin);
      const killed = await admin.query<{ pid: number }>(
        `SELECT pid FROM (SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%') AS t`,
      );
      equal(killed.rows.length, 1);
      // Gone, then back (the first retry is 250 ms later): a LISTEN of another backend than the one killed, which
      // pg_stat_activity may still list while it ends.
      await listening(admin, 1, killed.rows[0].pid);
      await pgQueue(admin).enqueue({ kind: "txn", id: "9" });
      await c.until(1);
      deepEqual(c.got.map((g) => g.message.id), ["9"]);
    } finally {
      await worker.close();
    }
  });
});

/** Kills the LISTEN connection `times` times, each once it is back; how long each took to come back (ms). */
async function killListener(admin: PgPool, times: number): Promise<number[]> {
  const took: number[] = [];
  for (let i = 0; i < times; i++) {
    const killed = await admin.query<{ pid: number }>(
      `SELECT pid FROM (SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE 'LISTEN%') AS t`,
    );
    const lost = Date.now();
    // Back: a LISTEN of another backend (the killed one may still be listed while it ends).
    await listening(admin, 1, killed.rows[0]?.pid ?? 0);
    took.push(Date.now() - lost);
  }
  return took;
}

Deno.test("pgQueue: a listener lost again and again after it was stable comes back as fast each time (the back-off starts afresh)", async () => {
  await withDatabase(async (open) => {
    const warnings: Array<Record<string, unknown>> = [];
    const log = createLogger("warn", { sink: (l) => warnings.push(JSON.parse(l)) });
    // Every connection that listened counts as stable here (the default asks for 10 s).
    const worker = pgQueue(open(), { stableMs: 0, log });
    const admin = open();
    const c = collector();
    try {
      worker.listen(c.handler);
      await listening(admin);
      // Each loss after a connection that listened waits the first retry (250 ms); before, the wait doubled with
      // every outage the process had seen: the fifth took 4 s.
      const took = await killListener(admin, 5);
      deepEqual(
        warnings.map((w) => w.retry_ms),
        [250, 250, 250, 250, 250],
        `back after ${took.join(", ")} ms`,
      );
      await pgQueue(admin).enqueue({ kind: "txn", id: "10" });
      await c.until(1);
      deepEqual(c.got.map((g) => g.message.id), ["10"]);
    } finally {
      await worker.close();
    }
  });
});

Deno.test("pgQueue: a listener dropped each time it has just connected is tried ever less often (the back-off doubles)", async () => {
  await withDatabase(async (open) => {
    const warnings: Array<Record<string, unknown>> = [];
    const log = createLogger("warn", { sink: (l) => warnings.push(JSON.parse(l)) });
    const worker = pgQueue(open(), { log });
    const admin = open();
    const c = collector();
    try {
      worker.listen(c.handler);
      await listening(admin);
      const took = await killListener(admin, 4);
      // 250, 500, 1,000, 2,000 ms: each loss within 10 s of listening is one more failed attempt.
      ok(took[3] >= 1800 && took[2] >= 900 && took[1] >= 450, `back after ${took.join(", ")} ms`);
      deepEqual(warnings.map((w) => w.retry_ms), [250, 500, 1000, 2000]);
      // Listening again all the same.
      await pgQueue(admin).enqueue({ kind: "txn", id: "11" });
      await c.until(1);
      deepEqual(c.got.map((g) => g.message.id), ["11"]);
    } finally {
      await worker.close();
    }
  });
});
