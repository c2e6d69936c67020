/**
 * A negation is the complement of what it negates, records without the attribute included ($not, $nin, $nor,
 * CEL `!`, age ne), as `ne` always was: SQL's NOT of a comparison with NULL is NULL, which dropped them.
 */
import assert from "node:assert/strict";
import { ids, pred, searchOne } from "./fixture.ts";
import { type TestDeps, testDeps } from "../helpers/deps.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");

/** D died 2020-01-02 and was born 2000-01-01; L has no death date (born 1990-06-15); N has neither date. */
async function people(): Promise<TestDeps> {
  const deps = await testDeps({}, { now: NOW });
  const person = (id: string, extra: Record<string, unknown>) => ({
    id,
    identifier: [{ identifier_type: "UIN", identifier_value: `U-${id}` }],
    name: { given_name: "Ann", surname: id },
    ...extra,
  });
  const raws = [
    person("D", { birth_date: "2000-01-01", death_date: "2020-01-02" }),
    person("L", { birth_date: "1990-06-15" }),
    person("N", {}),
  ];
  const report = await deps.storage.registryLoad.writeAll(raws.map((raw, i) => ({ line: i + 1, raw })), {
    now: () => new Date(NOW).toISOString(),
  });
  if (report.rejectedCount) throw new Error(JSON.stringify(report.rejected));
  return deps;
}

const expression = (e: unknown) => ({ query_type: "expression", query: { value: { expression: e } } });
const sorted = (a: { data?: { reg_records: Record<string, unknown>[] } }) => ids(a).sort();

Deno.test("negations keep the records that lack the attribute, as ne does", async () => {
  const deps = await people();
  try {
    const notDead = [
      expression({ $not: { death_date: { $eq: "2020-01-02" } } }),
      expression({ death_date: { $nin: ["2020-01-02"] } }),
      expression({ $nor: [{ death_date: "2020-01-02" }] }),
      { query_type: "predicate", query: "!(r.death_date == '2020-01-02')" }, // CEL
      pred("death_date", "ne", "2020-01-02"),
    ];
    for (const criteria of notDead) {
      assert.deepEqual(sorted(await searchOne(deps, criteria)), ["L", "N"], JSON.stringify(criteria));
    }
    // Age 26 is D's (born 2000-01-01, today 2026-01-01): every other record is not that age, N included.
    assert.deepEqual(sorted(await searchOne(deps, pred("age", "eq", 26))), ["D"]);
    assert.deepEqual(sorted(await searchOne(deps, pred("age", "ne", 26))), ["L", "N"]);
  } finally {
    deps.close();
  }
});
