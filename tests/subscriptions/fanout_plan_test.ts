/**
 * Fan-out extends its list of subscriptions with those made or approved since its newest event by a seek of the
 * (state, from_event_id) index (migration 0045), not by reading every live subscription's row (~7 ms at 30,000
 * subscriptions, under the write lock).
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { SUBSCRIPTION_SQL } from "../../src/subscriptions/store.ts";

Deno.test("fan-out reads the subscriptions made since a list's newest event through their index", async () => {
  const deps = await testDeps();
  try {
    const plan = (deps.db!.prepare(`EXPLAIN QUERY PLAN ${SUBSCRIPTION_SQL.fanOutSince}`).all(5) as Array<
      { detail: string }
    >).map((r) => r.detail);
    assert.ok(
      plan.some((d) =>
        /^SEARCH subscriptions USING (COVERING )?INDEX subscriptions_from_event \(state=\? AND from_event_id>\?\)/
          .test(d)
      ),
      plan.join("\n"),
    );
  } finally {
    deps.close();
  }
});
