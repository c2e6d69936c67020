/** Search queries that cost the most within the parse limits (tests and bench/_abuse_search.ts send them). */

/** The attack of the issue: 63 household comparisons that hold for everyone, then an impossible one. */
export const ISSUE_QUERY = {
  $and: Array.from({ length: 63 }, () => ({ poverty_score: { $ne: -1 } })),
  $nor: [{ birth_date: { $gte: "1800-01-01" } }],
};

/** Every household passes 63 comparisons and fails the last: all the work is on household rows. */
export const HOUSEHOLD_QUERY = {
  $and: [
    ...Array.from({ length: 62 }, () => ({ poverty_score: { $ne: -1 } })),
    { $not: { poverty_score: { $ne: -1 } } },
  ],
};

/** Every person row pays 63 × 4 date-range tests (the most ranges a query compiles to) and none matches. */
export const PERSON_QUERY = {
  $and: [
    {
      $nor: Array.from({ length: 63 }, (_, i) => ({
        registration_date: { $in: Array.from({ length: 4 }, (_, k) => `19${10 + i}-0${1 + k}-15`) },
      })),
    },
    { $nor: [{ birth_date: { $gte: "1800-01-01" } }] },
  ],
};

/** Search criteria of an expression query (MongoDB form). */
export function expression(q: unknown): Record<string, unknown> {
  return { query_type: "expression", query: { value: { expression: q } } };
}
