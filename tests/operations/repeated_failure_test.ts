/**
 * A periodic task that keeps failing (the due-work poll every 200 ms during a database outage) logs its first
 * failure, then at most one line a minute saying how many since when, and one line when it works again.
 */
import assert from "node:assert/strict";
import { repeatedFailureLog } from "../../src/obs/repeated_failure.ts";
import { createLogger } from "../../src/obs/log.ts";

Deno.test("repeatedFailureLog: the first failure, one line a minute while it lasts, and the recovery", () => {
  const lines: Array<Record<string, unknown>> = [];
  let t = Date.parse("2026-12-05T10:00:00Z");
  const log = repeatedFailureLog(
    createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) }),
    "due-work poll",
    {
      now: () => t,
    },
  );
  const down = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  // Ten minutes of a poll every 200 ms: 3,000 failures.
  for (let i = 0; i < 3000; i++, t += 200) log.failed(down);
  log.succeeded();
  log.succeeded();
  const msgs = lines.map((l) => l.msg);
  assert.equal(msgs[0], "due-work poll failed");
  assert.equal(msgs.filter((m) => m === "due-work poll still failing").length, 9);
  assert.equal(msgs.at(-1), "due-work poll works again");
  assert.equal(lines.length, 11);
  assert.equal(lines.at(-1)!.failures, 3000);
  assert.equal(lines.at(-1)!.since, "2026-12-05T10:00:00.000Z");
  // A new outage starts over.
  log.failed(down);
  assert.equal(lines.at(-1)!.msg, "due-work poll failed");
});
