/**
 * The notifier's compiled-filter cache holds one UTC day's filters: a new day drops the others, so a worker that
 * runs for months keeps only the filters of the subscriptions it used that day.
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

Deno.test("filterOf(): a new day drops the filters compiled for earlier days", () => {
  const cache: FilterCache = new Map();
  const day1 = { now: "2026-12-03T10:00:00.000Z", log: silentLogger };
  const first = filterOf(cache, sub(1), day1);
  assert.ok(first && !(first instanceof Error));
  filterOf(cache, sub(2), day1);
  assert.equal(filterOf(cache, sub(1), day1), first, "compiled once a day");
  assert.equal(cache.size, 2);
  filterOf(cache, sub(1), { now: "2026-12-04T00:00:01.000Z", log: silentLogger });
  assert.deepEqual([...cache.keys()], ["1|2026-12-04"]);
});
