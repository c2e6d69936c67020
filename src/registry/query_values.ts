/**
 * Registry attributes in the query compiler: an attribute a registry profile declares (ProfileAttribute, e.g.
 * crvs `vital_event_type`, fr `crop_type`) is a lookup of `registrant_values` by its key (attr, value), one
 * subquery per comparison, under the statement budget like every other lookup. The attribute name is bound too:
 * no profile text reaches the SQL.
 */
import { budgetPrefix, type Dialect, matchValues, valueMark, valueText } from "./query_dialect.ts";
import { nfc, normaliseValue } from "./attributes.ts";
import { filterError, type Op, show } from "./query_parse.ts";
import { columnTest, type SqlContext, timestampTest, valuesFor } from "./query_sql.ts";
import { likeTest } from "./query_text.ts";
import type { ProfileAttribute } from "../registries/profile.ts";

/** The registry attribute a client-sent name denotes (name or alias, case-insensitive) on the record type. */
export function profileAttributeOf(name: string, ctx: SqlContext): ProfileAttribute | undefined {
  if (!ctx.attributes?.length) return undefined;
  const key = name.toLowerCase();
  const storage = ctx.storage ?? ctx.recordType;
  const found = ctx.attributes.find((a) => a.name === key || (a.aliases ?? []).includes(key));
  if (found && !found.on.includes(storage)) {
    throw filterError(`attribute ${show(name)} does not apply to ${storage} records`);
  }
  return found;
}

/**
 * A registry attribute: the registrant has a value (one of several for a list) that passes, looked up in
 * `registrant_values` by its key (attr, value); `ne` is "has no value equal". The attribute name is bound too.
 */
export function profileAttributeTest(
  a: ProfileAttribute,
  attr: string,
  op: Op,
  value: unknown,
  ctx: SqlContext,
  params: Array<string | number>,
): string {
  const test = valueCondition(a, attr, op === "ne" ? "eq" : op, value, "v", params, ctx.dialect);
  if (ctx.mode === "match") {
    // One registrant (a subscription filter, per event): its values as the event recorded them (matchValues).
    return `${op === "ne" ? "NOT " : ""}EXISTS (SELECT 1 FROM ${matchValues(ctx.dialect)} v WHERE ${test})`;
  }
  const budget = budgetPrefix(ctx, "v.registrant_id");
  const sub = `SELECT v.registrant_id FROM registrant_values v WHERE ${budget}${test}`;
  return `r.id ${op === "ne" ? "NOT IN" : "IN"} (${sub})`;
}

/**
 * The positive comparison `op` (never `ne`) of registry attribute `a` as a condition on the `registrant_values`
 * row aliased `alias` (a plain constant of the compiler): `alias.attr = ? AND <test of alias.value>` (a union
 * attribute, `storedAs`: `alias.attr IN (?, ?)`, the names bound too). On PostgreSQL the value is a jsonb, compared
 * with the jsonb of the bound value (its key stays the index's) and read as text for LIKE.
 */
export function valueCondition(
  a: ProfileAttribute,
  attr: string,
  op: Exclude<Op, "ne">,
  value: unknown,
  alias: string,
  params: Array<string | number>,
  dialect?: Dialect,
): string {
  const names = a.storedAs ?? [a.name];
  params.push(...names);
  const attrTest = names.length === 1
    ? `${alias}.attr = ?`
    : `${alias}.attr IN (${names.map(() => "?").join(",")})`;
  const column = `${alias}.value`;
  let test: string;
  if (op === "contains" || op === "like") {
    if (a.kind !== "text" && a.kind !== "upper") {
      throw filterError(`operator ${op} applies to text attributes, not ${show(attr)}`);
    }
    test = likeTest(valueText(dialect, alias), op, valuesFor(op, value)[0], attr, params, dialect);
  } else {
    const values = valuesFor(op, value).map((v) => {
      // In NFC, as normaliseValue reads text (attributes.ts nfc), for a profile's own reader too.
      const n = a.normalise ? a.normalise(typeof v === "string" ? nfc(v) : v) : normaliseValue(a.kind, v);
      if (n === undefined) throw filterError(`invalid value ${show(v)} for ${show(attr)}`);
      return n;
    });
    test = a.kind === "timestamp"
      ? timestampTest(
        column,
        op,
        values as string[],
        params,
        valueMark(dialect, ""),
        valueText(dialect, alias),
      )
      : columnTest(column, op, values, params, dialect, true);
  }
  return `${attrTest} AND ${test}`;
}
