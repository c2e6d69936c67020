/**
 * CEL predicate cost: parsing and compiling OpenSPP CEL predicates (src/registry/query_cel.ts) to the SQL the
 * search runs, in-process, per call: a typical predicate, one at the comparison limit (64), one at the size
 * limit (16 KiB of `in` values), and the refusals (1 MB, deep nesting, 1,500 terms). Figures only; the
 * behaviour is asserted in tests/conformance/cel_test.ts. Run: deno run -A bench/cel_parse.ts
 */
import { parseQuery, QueryError } from "../src/registry/query_parse.ts";
import { toSql } from "../src/registry/query_sql.ts";
import { loadAverage } from "./_lib.ts";

const SPEC_TYPICAL = [
  { expression1: { attribute_name: "age", operator: "ge", attribute_value: 18 } },
  { expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" } },
  { expression1: { attribute_name: "name", operator: "like", attribute_value: "Jo%" } },
];

const CASES: Record<string, unknown> = {
  "typical, spec predicate": SPEC_TYPICAL,
  typical: "age_years(r.birthdate) >= 18 && r.gender == 'female' && r.name.startsWith(\"Jo\")",
  "64 comparisons": Array.from({ length: 64 }, (_, i) => `r.surname == "name-${i}"`).join(" || "),
  "900 in values (15 KiB)": Array.from(
    { length: 9 },
    (_, i) => `r.given_name in [${Array.from({ length: 100 }, (_, j) => `"given-${i}-${j}"`)}]`,
  ).join(" || "),
  "refused: 1 MB": `r.surname == "${"x".repeat(1_000_000)}"`,
  "refused: nesting 5000": "(".repeat(5000) + "r.sex == 'male'" + ")".repeat(5000),
  "refused: 1,500 terms": Array.from({ length: 1500 }, (_, i) => `a==${i}`).join("||"),
};

function once(text: unknown): string {
  try {
    const { cond } = parseQuery("predicate", text);
    toSql(cond, { recordType: "person", today: "2026-01-01", mode: "search" });
    return "ok";
  } catch (err) {
    if (err instanceof QueryError) return "refused";
    throw err;
  }
}

console.log(`load average: ${loadAverage()}`);
for (const [name, text] of Object.entries(CASES)) {
  const outcome = once(text);
  const size = typeof text === "string" ? text.length : JSON.stringify(text).length;
  const rounds = size > 100_000 ? 50 : 2_000;
  for (let i = 0; i < Math.min(200, rounds); i++) once(text);
  const t = performance.now();
  for (let i = 0; i < rounds; i++) once(text);
  const us = ((performance.now() - t) * 1000) / rounds;
  console.log(
    `${name.padEnd(24)} ${String(size).padStart(8)} chars  ${outcome.padEnd(8)} ${us.toFixed(1)} µs`,
  );
}
