/**
 * A receipt that names only a subscription code reads that subscription's latest delivered notification through
 * the index of delivered rows (migration 0038), not back over its pending backlog, which it read row by row
 * inside the receipt's write transaction before.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { RECEIPT_SQL } from "../../src/subscriptions/notifications.ts";

Deno.test("a receipt by subscription code reads the index of delivered notifications", async () => {
  const deps = await testDeps();
  try {
    const plan = (deps.db!.prepare(`EXPLAIN QUERY PLAN ${RECEIPT_SQL.byCode}`).all("S-1") as Array<
      { detail: string }
    >).map((r) => r.detail);
    assert.ok(
      plan.some((d) => /^SEARCH n USING INDEX notifications_delivered \(subscription_id=\?\)/.test(d)),
      plan.join("\n"),
    );
    assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d)), plan.join("\n"));
  } finally {
    deps.close();
  }
});
