/**
 * Issue 17 §4: three instances of the server on one PostgreSQL database behind a round-robin loopback proxy
 * (tests/helpers/round_robin.ts), one of them killed with SIGKILL under load. Nothing accepted is lost: every
 * ACKed search is called back, every registry change made through the proxy is notified, in event order; a
 * sender's rate limit is exact across the instances; the instances starting together migrate once, load the
 * demo registry once and create one signing key; each per-minute cron job runs once per minute.
 */
import assert from "node:assert/strict";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { createStoredSender } from "../helpers/auth.ts";
import { newPgDatabase } from "../helpers/postgres.ts";
import { startRoundRobin } from "../helpers/round_robin.ts";
import type { ServerProcess } from "../helpers/server.ts";
import { send, startWorkerServer } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { type Json, searchMessage } from "../transactions/support.ts";
import { admin, eventually, subscribeMessage } from "../subscriptions/e2e_support.ts";
import { person } from "../subscriptions/helpers.ts";

const DEMO_SIZE = 40;

Deno.test("three instances on PostgreSQL behind a proxy: SIGKILL one under load, nothing lost, limits exact, crons once", async () => {
  const url = await newPgDatabase("e");
  const receiver = startReceiver();
  const env = {
    DCI_DATABASE_URL: url,
    DCI_LEASE_SECONDS: "3",
    DCI_SEED_DEMO: "true",
    DCI_DEMO_SIZE: String(DEMO_SIZE),
    DCI_LOG_LEVEL: "debug",
  };
  const started = Date.now();
  // Started together: the migration, the demo load, the first signing key and the admin token race.
  const instances: ServerProcess[] = await Promise.all([0, 1, 2].map(() => startWorkerServer(env)));
  const proxy = startRoundRobin(instances.map((i) => i.url));
  const pool = openPgPool(url, { max: 2 });
  const storage = pgStorage(pool);
  try {
    const count = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0].n;
    assert.equal(
      await count("SELECT count(*)::int AS n FROM registrants WHERE record_type = 'person'"),
      DEMO_SIZE,
    );
    assert.equal(await count("SELECT count(*)::int AS n FROM server_keys WHERE status = 'active'"), 1);
    // Seeded by one instance (start-up runs as one exclusive section): one registration event per record.
    assert.equal(
      await count("SELECT count(*)::int AS n FROM registry_events"),
      await count("SELECT count(*)::int AS n FROM registrants"),
    );

    const alice = await createStoredSender(storage, proxy.url, { auto_approve_subscriptions: true });
    const bob = await createStoredSender(storage, proxy.url, { limit_minute: 20 });

    // A subscription to person registrations, made through the proxy.
    const sub = await send(
      proxy,
      alice,
      "/registry/subscribe",
      subscribeMessage("pg-sub", [{ reg_event_type: "registration", notify_record_type: "person" }]),
      receiver.url,
    );
    assert.equal(sub.status, 202);
    let code = "";
    await eventually(() => {
      const on = receiver.received.find((r) => r.path.endsWith("/on-subscribe"));
      const items = (on?.body.message as { subscribe_response?: Array<Json> } | undefined)
        ?.subscribe_response;
      code = String((items?.[0]?.subscriptions as Array<{ code: string }> | undefined)?.[0]?.code ?? "");
      return code !== "";
    }, "on-subscribe callback");

    // Load: async searches from 8 clients and registrations through the admin API, all via the proxy; one
    // instance is killed halfway.
    const acked = new Set<string>();
    const registered: string[] = [];
    const unregistered: string[] = [];
    let next = 0;
    let killed = false;
    let killedAt = 0;
    const total = 200;
    const searcher = async () => {
      while (next < total) {
        const i = next++;
        try {
          const res = await send(proxy, alice, "/registry/search", searchMessage(`pg-${i}`), receiver.url);
          if (res.status === 202) acked.add((res.body.message as Record<string, string>).correlation_id);
        } catch { /* cut by the kill: only ACKed requests are promised */ }
        if (acked.size >= total / 2 && !killed) {
          killed = true;
          assert.equal(await instances[1].stop("SIGKILL"), 137);
          killedAt = Date.now();
        }
      }
    };
    const registrar = async () => {
      for (let i = 0; i < 30; i++) {
        const id = `pg-p-${i}`;
        const r = await admin(proxy, "POST", "/registrants", person(id, { sex: "female" }));
        // A POST the killed instance committed before its connection was cut is sent again by the proxy to the
        // next instance, which answers 409 (it exists): registered all the same, once.
        const stored = r.status === 409 && (await admin(proxy, "GET", `/registrants/${id}`)).status === 200;
        if (r.status === 201 || stored) registered.push(`U-${id}`);
        else unregistered.push(`${id}: ${r.status}`);
      }
    };
    await Promise.all([...Array.from({ length: 8 }, searcher), registrar()]);
    assert.ok(killed);
    assert.equal(
      registered.length,
      30,
      `the proxy skips the dead instance: every registration answered ${unregistered}`,
    );

    // Every ACKed search is called back (work the dead instance held resumes once its lease lapses).
    await receiver.waitFor((rs) => {
      const got = new Set(
        rs.filter((r) => r.path.endsWith("/on-search")).map((r) => (r.body.message as Json)?.correlation_id),
      );
      return [...acked].every((c) => got.has(c));
    }, 60_000);

    // Every registration is notified, in event order (at least once: a repeat is allowed, a gap or swap not).
    const notifiedIds = () =>
      receiver.received.filter((r) => r.path.endsWith("/notify")).map((r) =>
        String(
          ((r.body.message as { notify_event: Array<{ data: { reg_records: Json } }> }).notify_event[0].data
            .reg_records.identifier as Array<{ identifier_value: string }> | undefined)?.[0]
            ?.identifier_value ??
            "",
        )
      );
    await eventually(
      () => registered.every((id) => notifiedIds().includes(id)),
      "every registration notified",
      60_000,
    );
    const order: string[] = [];
    for (const id of notifiedIds()) if (order.at(-1) !== id) order.push(id);
    assert.deepEqual(order.filter((id) => registered.includes(id)), registered);

    console.log(
      `acked ${acked.size}/${total} searches, ${registered.length} registrations notified; ` +
        `requests per instance ${JSON.stringify([...proxy.served.values()])} (the second killed)`,
    );

    // Bob's limit is 20 a minute across the two live instances, with his requests racing each other.
    const statuses = await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) =>
          send(proxy, bob, "/registry/sync/search", searchMessage(`bob-${i}`), receiver.url, "search").then((
            r,
          ) => r.status),
      ),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 20, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 10);

    // Each per-minute job ran once per minute across the three instances (wait for one minute boundary; every
    // instance's cron fires at it, one claims each job).
    const ranLines = () => instances.flatMap((i) => i.logs).filter((l) => l.msg === "scheduled job ran");
    // The jobs claimed for the first minute after the kill are the ones live instances logged as run. (A minute
    // before it may have been claimed by the killed instance, its run cut before the log line: a loaded machine
    // takes more than a minute to get here; one after it may be claimed and still running.)
    const afterKill = () =>
      ranLines().map((l) => String(l.slot)).filter((slot) => Date.parse(slot) > killedAt);
    await eventually(() => afterKill().length > 0, "a scheduled job ran after the kill", 75_000);
    await new Promise((r) => setTimeout(r, 3000)); // the other instances' fires of the same minute, and their runs
    const perSlot = new Map<string, number>();
    for (const l of ranLines()) {
      perSlot.set(`${l.job}|${l.slot}`, (perSlot.get(`${l.job}|${l.slot}`) ?? 0) + 1);
    }
    for (const [slot, n] of perSlot) assert.equal(n, 1, `${slot} ran ${n} times`);
    // Every job claimed for that minute is logged as run, once its run ends (a claimed run may still be going).
    const first = afterKill().sort()[0];
    const claimedOfFirst = async () =>
      (await pool.query<{ name: string; slot: string }>(
        "SELECT name, slot FROM job_runs WHERE claimed_at >= $1",
        [new Date(started).toISOString()],
      )).rows.filter((r) => r.slot === first).map((r) => r.name).sort();
    const ranOfFirst = () => ranLines().filter((l) => l.slot === first).map((l) => String(l.job)).sort();
    await eventually(
      async () => JSON.stringify(ranOfFirst()) === JSON.stringify(await claimedOfFirst()),
      `the jobs claimed for ${first} logged as run`,
      60_000,
    );
  } finally {
    await proxy.close();
    await Promise.all(instances.map((i) => i.stop("SIGKILL").catch(() => 0)));
    await storage.close();
    await receiver.close();
  }
});
