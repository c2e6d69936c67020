/**
 * The worker's deferred writes (src/transactions/bulk_runner.ts): a step's write that met a storage fault that
 * passes is kept and tried again first at the transaction's next handling, with one wake-up at a time; any other
 * error is thrown as before. Fake clock, a scripted write; the worker's use of them: tests/faults/storage_fault_steps_test.ts.
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { deferredWrites } from "../../src/transactions/deferred_writes.ts";

const locked = () => Object.assign(new Error("database is locked"), { errcode: 5 });

Deno.test("deferredWrites() keeps a write that met a held lock, asks for one wake-up at a time, and settles it once the lock is gone", async () => {
  const deps = await testDeps();
  try {
    const wakes: Array<[number, number]> = [];
    const writes = deferredWrites(deps, (id, delayMs) => {
      wakes.push([id, delayMs]);
      return Promise.resolve();
    });
    let fails = 4;
    let written = 0;
    const write = () => fails-- > 0 ? Promise.reject(locked()) : Promise.resolve(++written);
    equal(await writes.run(7, "transaction result", write), undefined, "kept, not thrown");
    deepEqual(wakes, [[7, 1_000]]);
    // Tries before the wake-up is due (the due-work poll's) ask for none of their own.
    equal(await writes.settle(7), false);
    equal(await writes.settle(7), false);
    equal(wakes.length, 1);
    equal(await writes.settle(8), true, "nothing kept for another transaction");
    // The wake-up's try: the lock is still held, so it asks for the next.
    deps.clock.advance(1_000);
    equal(await writes.settle(7), false);
    deepEqual(wakes, [[7, 1_000], [7, 1_000]]);
    deps.clock.advance(1_000);
    equal(await writes.settle(7), true, "written once the lock is gone");
    equal(written, 1);
    equal(await writes.settle(7), true, "nothing kept any more");
    equal(written, 1);
    equal(wakes.length, 2);
  } finally {
    deps.close();
  }
});

Deno.test("deferredWrites() throws an error that is no passing storage fault, keeping nothing", async () => {
  const deps = await testDeps();
  try {
    const writes = deferredWrites(deps, () => Promise.resolve());
    await rejects(
      writes.run(7, "transaction result", () => Promise.reject(new Error("constraint failed"))),
      /constraint/,
    );
    equal(await writes.settle(7), true);
  } finally {
    deps.close();
  }
});
