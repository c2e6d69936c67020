/** Scheduled jobs run once per due time: the claim store on both backends, and runScheduled on top of it. */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { testDeps } from "../helpers/deps.ts";
import { KEEP_MS, slotOf } from "../../src/jobs/job_runs.ts";
import { catchUpDue, runScheduled, type Schedule } from "../../src/jobs/schedules.ts";
import { catchUpSchedules } from "../../src/jobs/background.ts";

const T = Date.parse("2026-03-01T03:17:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("slotOf: fires up to half a minute apart name the same due minute", () => {
  equal(slotOf(T), "2026-03-01T03:17:00.000Z");
  equal(slotOf(T + 29_000), "2026-03-01T03:17:00.000Z");
  equal(slotOf(T - 29_000), "2026-03-01T03:17:00.000Z");
  equal(slotOf(T + 31_000), "2026-03-01T03:18:00.000Z");
});

backendTest("job runs: one claim per job and due time, whoever races for it", async (s) => {
  const claims = await Promise.all(
    Array.from(
      { length: 10 },
      () => s.jobRuns.claim("audit-retention", slotOf(T), iso(T), slotOf(T - KEEP_MS)),
    ),
  );
  equal(claims.filter(Boolean).length, 1);
  // Another job at the same minute, and the same job at the next minute, are claims of their own.
  equal(await s.jobRuns.claim("subscriptions-expire", slotOf(T), iso(T), slotOf(T - KEEP_MS)), true);
  equal(await s.jobRuns.claim("audit-retention", slotOf(T + 60_000), iso(T), slotOf(T - KEEP_MS)), true);
  equal(await s.jobRuns.claim("audit-retention", slotOf(T), iso(T), slotOf(T - KEEP_MS)), false);
});

backendTest(
  "job runs: a claim won stands when pruning the old claims fails (its job runs)",
  async (s, sql) => {
    const old = T - KEEP_MS - 86_400_000;
    equal(await s.jobRuns.claim("audit-retention", slotOf(old), iso(old), slotOf(old - KEEP_MS)), true);
    // Deleting a claim fails from now on (a write lock held past the busy timeout, a connection lost).
    await sql("CREATE TRIGGER no_prune BEFORE DELETE ON job_runs BEGIN SELECT RAISE(ABORT, 'held'); END")
      .catch(
        async () => {
          await sql(
            "CREATE FUNCTION no_prune() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'held'; END $$",
          );
          await sql(
            "CREATE TRIGGER no_prune BEFORE DELETE ON job_runs FOR EACH ROW EXECUTE FUNCTION no_prune()",
          );
        },
      );
    equal(await s.jobRuns.claim("audit-retention", slotOf(T), iso(T), slotOf(T - KEEP_MS)), true);
    equal(await s.jobRuns.lastRun("audit-retention"), slotOf(T));
    equal(
      (await sql("SELECT COUNT(*) AS n FROM job_runs")).map((r) => Number(r.n))[0],
      2,
      "the old claim stays",
    );
  },
);

backendTest(
  "job runs: claims older than the keep window are dropped as new ones are made",
  async (s, sql) => {
    const old = T - KEEP_MS - 60_000;
    await s.jobRuns.claim("j", slotOf(old), iso(old), slotOf(old - KEEP_MS));
    await s.jobRuns.claim("other", slotOf(old), iso(old), slotOf(old - KEEP_MS));
    await s.jobRuns.claim("j", slotOf(T), iso(T), slotOf(T - KEEP_MS));
    deepEqual(
      (await sql("SELECT name, slot FROM job_runs ORDER BY name, slot")).map((r) => `${r.name} ${r.slot}`),
      [`j ${slotOf(T)}`, `other ${slotOf(old)}`],
    );
  },
);

Deno.test("runScheduled: a job runs once per due time, again at the next, and a failure is logged, not thrown", async () => {
  const deps = await testDeps({}, { now: T });
  try {
    let runs = 0;
    const job: Schedule = { name: "count", schedule: "* * * * *", run: () => Promise.resolve(void runs++) };
    equal(await runScheduled(deps, job), true);
    deps.clock.advance(10_000);
    equal(await runScheduled(deps, job), false, "a second fire for the same minute");
    equal(runs, 1);
    deps.clock.advance(50_000);
    equal(await runScheduled(deps, job), true);
    equal(runs, 2);
    const failing: Schedule = {
      name: "boom",
      schedule: "* * * * *",
      run: () => Promise.reject(new Error("x")),
    };
    equal(await runScheduled(deps, failing), false);
  } finally {
    deps.close();
  }
});

Deno.test("runScheduled: a fire that fails gives its claim back, so a daily job's catch-up runs it again", async () => {
  const deps = await testDeps({}, { now: T });
  try {
    let tries = 0;
    const job: Schedule = {
      name: "purge",
      schedule: "17 3 * * *",
      catchUp: true,
      run: () => ++tries === 2 ? Promise.reject(new Error("database is locked")) : Promise.resolve(),
    };
    equal(await runScheduled(deps, job), true);
    deps.clock.advance(24 * 3_600_000);
    // The next day's fire fails: it counts as no run.
    equal(await runScheduled(deps, job), false);
    equal(await deps.storage.jobRuns.lastRun("purge"), slotOf(T));
    deps.clock.advance(3_600_000 + 60_000);
    equal(await catchUpDue(deps, job), true, "25 h since the last run that took place");
    equal(tries, 3);
  } finally {
    deps.close();
  }
});

Deno.test("catchUpDue: a daily job that has not run for over a day (or never) runs once; one run within the day does not", async () => {
  const deps = await testDeps({}, { now: T });
  try {
    let runs = 0;
    const job: Schedule = {
      name: "daily",
      schedule: "17 3 * * *",
      catchUp: true,
      run: () => Promise.resolve(void runs++),
    };
    equal(await deps.storage.jobRuns.lastRun("daily"), undefined);
    equal(await catchUpDue(deps, job), true, "never ran");
    equal(await deps.storage.jobRuns.lastRun("daily"), slotOf(T));
    deps.clock.advance(20 * 3_600_000);
    equal(await catchUpDue(deps, job), false, "ran 20 h ago");
    deps.clock.advance(6 * 3_600_000);
    equal(await catchUpDue(deps, job), true, "26 h: the 03:17 fire was missed");
    equal(runs, 2);
    // A job without catchUp (a minute's job, a backup) is never run this way.
    equal(await catchUpDue(deps, { ...job, name: "other", catchUp: undefined }), false);
    equal(runs, 2);
  } finally {
    deps.close();
  }
});

Deno.test("catchUpSchedules: the worker looks for missed daily jobs after start and then again on its interval, not only once", async () => {
  const deps = await testDeps({}, { now: T });
  const stops: Array<() => void | Promise<void>> = [];
  try {
    const runs: number[] = [];
    const job: Schedule = {
      name: "daily",
      schedule: "17 3 * * *",
      catchUp: true,
      run: () => Promise.resolve(void runs.push(deps.clock.now())),
    };
    const until = async (n: number) => {
      const deadline = performance.now() + 20_000;
      while (runs.length < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    };
    catchUpSchedules(deps, stops, { jobs: [job], firstMs: 10, everyMs: 30 });
    await until(1);
    deepEqual(runs, [T], "never ran: run after start");
    // Many checks later, still within the day: nothing more. Then the day's fire missed: the next check runs it.
    await new Promise((r) => setTimeout(r, 200));
    deepEqual(runs, [T]);
    deps.clock.advance(26 * 3_600_000);
    await until(2);
    deepEqual(runs, [T, T + 26 * 3_600_000]);
  } finally {
    for (const stop of stops) await stop();
    deps.close();
  }
});

Deno.test("runScheduled: a claim the failed run could not give back at once (the same fault) is given back soon after", async () => {
  const deps = await testDeps({}, { now: T });
  try {
    const release = deps.storage.jobRuns.release;
    let refused = 0;
    deps.storage.jobRuns.release = (name, slot) =>
      refused++ === 0 ? Promise.reject(new Error("database is locked")) : release(name, slot);
    const job: Schedule = {
      name: "purge",
      schedule: "17 3 * * *",
      catchUp: true,
      run: () => Promise.reject(new Error("database is locked")),
    };
    equal(await runScheduled(deps, job), false);
    equal(await deps.storage.jobRuns.lastRun("purge"), slotOf(T), "still claimed: its release failed");
    for (const end = Date.now() + 20_000; await deps.storage.jobRuns.lastRun("purge") !== undefined;) {
      if (Date.now() > end) throw new Error("the claim was never given back");
      await new Promise((r) => setTimeout(r, 100));
    }
    equal(refused, 2);
  } finally {
    deps.close();
  }
});
