/**
 * The notifier's compiled-filter cache holds the filters of the latest UTC event day: a later day drops the others,
 * so a worker that runs for months keeps only the filters of the subscriptions it used that day.
 */
import assert from "node:assert/strict";
import { type FilterCache, filterOf } from "../../src/subscriptions/fanout.ts";
import type { SubscriptionRow } from "../../src/subscriptions/store.ts";
import { silentLogger } from "../../src/obs/log.ts";

const FEMALE = JSON.stringify([{
  seq_num: 1,
  expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
}]);

function sub(id: number): SubscriptionRow {
  return {
    id,
    code: `s${id}`,
    registry: "social",
    record_type: "person",
    filter_type: "predicate",
    filter: FEMALE,
  } as SubscriptionRow;
}

Deno.test("filterOf(): a later event day drops the filters compiled for earlier days", () => {
  const cache: FilterCache = new Map();
  const day1 = { at: "2026-12-03T10:00:00.000Z", log: silentLogger };
  const first = filterOf(cache, sub(1), day1);
  assert.ok(first && !(first instanceof Error));
  filterOf(cache, sub(2), day1);
  assert.equal(filterOf(cache, sub(1), day1), first, "compiled once a day");
  assert.equal(cache.size, 2);
  filterOf(cache, sub(1), { at: "2026-12-04T00:00:01.000Z", log: silentLogger });
  assert.deepEqual([...cache.keys()], ["1|2026-12-04"]);
  // An event of the day before (an import batch stamped before midnight, logged after) is judged at its own day,
  // without dropping the later day's.
  filterOf(cache, sub(1), { at: "2026-12-03T23:59:59.000Z", log: silentLogger });
  assert.deepEqual([...cache.keys()], ["1|2026-12-04", "1|2026-12-03"]);
});
