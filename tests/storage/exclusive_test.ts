/**
 * Storage.exclusive: sections of one name never overlap across instances on PostgreSQL (start-up work such as the
 * demo seed runs once when instances start together); different names do not wait for each other; a failing
 * section releases the lock. On SQLite (one server process per file) the section just runs.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves "waited" after `ms` unless cleared first (a backstop that leaves no timer behind). */
function guard(ms: number): { promise: Promise<"waited">; clear(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<"waited">((r) => id = setTimeout(() => r("waited"), ms));
  return { promise, clear: () => clearTimeout(id) };
}

backendTest("exclusive: runs the section and hands back its value; a failure is rethrown", async (s) => {
  equal(await s.exclusive("x", () => Promise.resolve(42)), 42);
  await rejects(s.exclusive("x", () => Promise.reject(new Error("boom"))), /boom/);
  equal(await s.exclusive("x", () => Promise.resolve("again")), "again");
});

Deno.test("exclusive [postgres]: three instances' sections of one name take turns; another name runs beside", async () => {
  await withPgInstances(3, async (instances) => {
    const trace: string[] = [];
    let inside = 0;
    let most = 0;
    // The first section to enter stays in until the "other" section has run (or 20 s): were "other" made to wait
    // for the "seed" lock, it could only run after that cap.
    const otherRan = Promise.withResolvers<void>();
    const firstIn = Promise.withResolvers<void>();
    const section = (i: number) => async () => {
      inside++;
      most = Math.max(most, inside);
      trace.push(`in ${i}`);
      if (trace.length === 1) {
        firstIn.resolve();
        const cap = guard(20_000);
        await Promise.race([otherRan.promise, cap.promise]);
        cap.clear();
      } else await pause(30);
      trace.push(`out ${i}`);
      inside--;
    };
    await Promise.all([
      ...instances.map((s, i) => s.exclusive("seed", section(i))),
      firstIn.promise.then(() =>
        instances[0].exclusive("other", () => Promise.resolve(void trace.push("other"))).then(
          otherRan.resolve,
        )
      ),
    ]);
    equal(most, 1, trace.join(", "));
    deepEqual(trace.filter((t) => t.startsWith("in")).length, 3);
    // "other" ran while the first "seed" section held its lock, not after it.
    ok(trace.indexOf("other") < trace.findIndex((t) => t.startsWith("out")), trace.join(", "));
  });
});

backendTest("tryExclusive: runs the section when no one else is in it", async (s) => {
  deepEqual(await s.tryExclusive("job:1", () => Promise.resolve(7)), { ran: true, value: 7 });
});

Deno.test("tryExclusive [postgres]: skipped at once while another instance is in the section; runs after", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const release = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    const holding = a.tryExclusive("job:9", async () => {
      entered.resolve();
      await release.promise;
      return "a";
    });
    await entered.promise;
    // Not waited for: the holder lets go only after this answer, so a wait would end at the guard.
    const cap = guard(20_000);
    const skipped = await Promise.race([b.tryExclusive("job:9", () => Promise.resolve("b")), cap.promise]);
    cap.clear();
    deepEqual(skipped, { ran: false });
    // Another name is free.
    deepEqual(await b.tryExclusive("job:10", () => Promise.resolve("b")), { ran: true, value: "b" });
    release.resolve();
    deepEqual(await holding, { ran: true, value: "a" });
    deepEqual(await b.tryExclusive("job:9", () => Promise.resolve("b")), { ran: true, value: "b" });
  });
});
