/**
 * Several registry attributes in one AND (`vital_event_type eq marriage AND birth_place eq Westfield`): compiled
 * one subquery each, every list was materialised in full before the lists were intersected, so two broad
 * conditions on a large registry used up the search budget even when few records have both. Here the
 * comparison with the fewest rows (counted, bounded, before the search) drives one subquery and the others
 * are probes of the key `(attr, value, registrant_id)` for each of its rows: the work is that of the most
 * selective condition, whatever order the client wrote them in.
 */
import type { Db } from "../db/sqlite.ts";
import { budgetTerm } from "../db/budget.ts";
import { budgetPrefix } from "./query_dialect.ts";
import { stmt } from "../db/statements.ts";
import type { Cond, Op } from "./query_parse.ts";
import type { SqlContext } from "./query_sql.ts";
import { valueCondition } from "./query_values.ts";
import type { ProfileAttribute } from "../registries/profile.ts";

/** Rows of one comparison read at most when choosing the driver (about a millisecond). */
export const ESTIMATE_ROWS = 5000;

/**
 * Estimates how many `registrant_values v` rows match `where`; the driver is the comparison with the fewest.
 * `oneKey`: the rows are one (attr, value) key, so they come in registrant id order.
 */
export type ValueEstimate = (where: string, params: Array<string | number>, oneKey: boolean) => number;

/**
 * A ValueEstimate on `db`: the rows are counted up to `cap`; past it, one key's rows (in registrant id order,
 * ids spread over the registry) are extrapolated from the id the cap was reached at. Another comparison past
 * the cap (a range, several values) counts as unbounded: it drives only when every other one is too.
 */
export function valueEstimator(db: Db, cap = ESTIMATE_ROWS): ValueEstimate {
  let maxId: number | undefined;
  return (where, params, oneKey) => {
    const { n, last } = stmt(
      db,
      `SELECT COUNT(*) AS n, MAX(id) AS last FROM (SELECT v.registrant_id AS id FROM registrant_values v ` +
        `WHERE ${budgetTerm("v.registrant_id")} AND ${where} LIMIT ?+0)`,
    ).get(...params, cap) as { n: number; last: number | null };
    if (n >= cap && oneKey) {
      maxId ??= Number((stmt(db, "SELECT MAX(id) AS m FROM registrants").get() as { m: number }).m);
    }
    return estimateOf(n, last, oneKey, maxId ?? 0, cap);
  };
}

/**
 * The estimate of `n` rows counted up to `cap`, the last at registrant id `last` (`maxId`: the largest
 * registrant id; needed only for one key past the cap), as valueEstimator describes.
 */
export function estimateOf(
  n: number,
  last: number | null,
  oneKey: boolean,
  maxId: number,
  cap = ESTIMATE_ROWS,
): number {
  if (n < cap) return n;
  if (!oneKey) return Number.MAX_SAFE_INTEGER;
  return Math.round(n * maxId / Math.max(1, Number(last)));
}

/** A positive comparison of a registry attribute, as the compiler found it. */
export interface AttributeComparison {
  a: ProfileAttribute;
  attr: string;
  op: Exclude<Op, "ne">;
  value: unknown;
}

interface Candidate extends AttributeComparison {
  index: number;
  rows: number;
}

/** Whether a comparison can be a probe: a few exact keys (eq, in), not a range scanned per driving row. */
function probes(c: AttributeComparison): boolean {
  return (c.op === "eq" || c.op === "in") && c.a.kind !== "timestamp";
}

/**
 * The AND of `items` with its positive registry-attribute comparisons (as `attributeOf` finds them) merged into
 * one subquery driven by the most selective, or undefined when fewer than two can be merged (or no estimate is
 * available: match mode). `emit` compiles every other item as usual; the result's params are pushed in order.
 */
export function intersectAttributes(
  items: Cond[],
  ctx: SqlContext,
  params: Array<string | number>,
  options: {
    attributeOf: (c: Cond) => AttributeComparison | undefined;
    emit: (c: Cond) => string;
  },
): string | undefined {
  if (!ctx.estimate || ctx.mode !== "search") return undefined;
  const found: Candidate[] = [];
  items.forEach((item, index) => {
    const c = options.attributeOf(item);
    if (c) found.push({ ...c, index, rows: 0 });
  });
  if (found.length < 2 || !found.some(probes)) return undefined;
  for (const c of found) {
    const p: Array<string | number> = [];
    // A union attribute's rows are several keys: not in one registrant id order.
    const oneKey = c.op === "eq" && c.a.kind !== "timestamp" && (c.a.storedAs?.length ?? 1) === 1;
    c.rows = ctx.estimate(valueCondition(c.a, c.attr, c.op, c.value, "v", p, ctx.dialect), p, oneKey);
  }
  // Stable: equal estimates (both unbounded) keep the client's order.
  const [driver, ...rest] = [...found].sort((x, y) => x.rows - y.rows);
  const merged = rest.filter(probes);
  if (merged.length === 0) return undefined;
  const mergedAt = new Set([driver.index, ...merged.map((c) => c.index)]);
  let sql =
    `r.id IN (SELECT v.registrant_id FROM registrant_values v WHERE ${budgetPrefix(ctx, "v.registrant_id")}` +
    valueCondition(driver.a, driver.attr, driver.op, driver.value, "v", params, ctx.dialect);
  merged.forEach((c, i) => {
    const alias = `p${i}`;
    sql += ` AND EXISTS (SELECT 1 FROM registrant_values ${alias} WHERE ${
      valueCondition(c.a, c.attr, c.op, c.value, alias, params, ctx.dialect)
    } AND ${alias}.registrant_id = v.registrant_id)`;
  });
  sql += ")";
  const others = items.filter((_, i) => !mergedAt.has(i)).map(options.emit);
  return `(${[sql, ...others].join(" AND ")})`;
}
