/**
 * The condition tree → parameterised SQL over `registrants r`. SQL text is built only from constants of the
 * allowlist (columns) and of this file (operators); every client value is a bound parameter.
 *
 * Cost: every comparison is a test on the row at hand or an index lookup, never a scan of its own. A person's
 * household attributes read the household row `g`, joined once by primary key (`searchFrom`), however many
 * comparisons read it; the planner may also drive the search from an index of `g` (`poverty_score < 1`) and
 * reach the members through `reg_group_members`. (They were `r.group_id IN (SELECT …)`, one materialised
 * scan of all households per comparison: 63 of them took 16.6 s on 430k records.)
 */
import { budgetTerm } from "../db/budget.ts";
import { asInt, budgetPrefix, type Dialect, mark, textMark, truth, valueMark } from "./query_dialect.ts";
import {
  attributeOf,
  ID_TYPE_ATTRIBUTES,
  normaliseIdType,
  normaliseValue,
  type RecordType,
  roundedNumber,
  roundedNumberMessage,
  withoutPersonPath,
} from "./attributes.ts";
import { type Cond, filterError, type Op, show } from "./query_parse.ts";
import { isTextAttribute, likeTest, textAttributeTest } from "./query_text.ts";
import type { ProfileAttribute } from "../registries/profile.ts";
import { profileAttributeOf, profileAttributeTest } from "./query_values.ts";
import { type AttributeComparison, intersectAttributes, type ValueEstimate } from "./query_intersect.ts";

/** A compiled WHERE fragment and its parameters. */
export interface Compiled {
  sql: string;
  params: Array<string | number>;
  /** Search mode: the fragment reads the person's household as `g`, which `searchFrom` joins. */
  household?: boolean;
  /** Compiled for PostgreSQL (query_dialect.ts); SQLite when absent. */
  dialect?: "postgres";
}

interface Out {
  params: Array<string | number>;
  household: boolean;
}

/** What compilation depends on. */
export interface SqlContext {
  /** The kind of record searched (which core attributes apply). */
  recordType: RecordType;
  /** Its storage record type (`person` when not given; `crvs_person`, ...): a SQL constant of a checked name. */
  storage?: string;
  /** The storage record type of the registry's groups (a person's household attributes); `group` by default. */
  groupStorage?: string;
  /** The registry has no group record type (crvs): household attributes do not apply to its persons. */
  noHouseholds?: boolean;
  /** The registry's own searchable attributes (registrant_values) and identifier types. */
  attributes?: readonly ProfileAttribute[];
  /** Search mode: counts a registry attribute's rows, so an AND of several is driven by the fewest. */
  estimate?: ValueEstimate;
  idTypes?: readonly string[];
  /** Today (YYYY-MM-DD, UTC), for `age`. */
  today: string;
  /** "search" reads live rows only; "match" evaluates one registrant, deleted or not. */
  mode: "search" | "match";
  /** The SQL dialect (SQLite when not given; query_dialect.ts). */
  dialect?: Dialect;
}

const MAX_IN = 100;
/**
 * Preparing a statement costs time on the event loop that no statement budget covers, and OR'd ranges cost
 * SQLite's planner more than linearly (64 `in` lists of 100 date ranges: seconds). So an `in` over a
 * date-time or an age compiles to ranges (which an index can serve) only up to MAX_RANGES values, and to a
 * set test beyond; and a query binds at most MAX_PARAMS values in all.
 */
const MAX_RANGES = 4;
const MAX_PARAMS = 1000;
type Compare = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
const SQL_OP: Record<Compare, string> = {
  eq: "=",
  ne: "IS NOT",
  gt: ">",
  ge: ">=",
  lt: "<",
  le: "<=",
};

/** Compiles a condition tree for `ctx.recordType`; throws QueryError (rjct.filter.invalid). */
export function toSql(cond: Cond, ctx: SqlContext): Compiled {
  const out: Out = { params: [], household: false };
  const sql = emit(cond, ctx, out);
  if (out.params.length > MAX_PARAMS) {
    throw filterError(`query has more than ${MAX_PARAMS} values in all; split it or use fewer in values`);
  }
  return {
    sql,
    params: out.params,
    ...(out.household ? { household: true } : {}),
    ...(ctx.dialect === "postgres" ? { dialect: "postgres" as const } : {}),
  };
}

/**
 * `FROM … WHERE …` of a search statement over the live records of storage record type `recordType` matching
 * `where` (compiled in search mode): the household (of storage type `groupStorage`) joined when `where` reads
 * it, and the statement budget checked first on every row of each table the statement loops over
 * (src/db/budget.ts). Both types are checked plain names (src/registries/index.ts), never client input.
 * `rowidOrder`: `r` is read in row id order, through none of its indexes (a dense page: search_dense.ts).
 * `gate: false`: no budget check on `r` (a count its LIMIT bounds: search_count.ts); the household's stays.
 * Compiled for PostgreSQL, the statement has no budget checks (statement_timeout bounds it) and no hint.
 */
export function searchFrom(
  where: Compiled,
  recordType: string,
  groupStorage = "group",
  { rowidOrder = false, gate = true }: { rowidOrder?: boolean; gate?: boolean } = {},
): string {
  const join = where.household
    ? ` LEFT JOIN registrants g ON g.id = r.group_id AND g.record_type = '${groupStorage}' AND g.deleted_at IS NULL`
    : "";
  if (where.dialect === "postgres") {
    return `FROM registrants r${join} WHERE r.record_type = '${recordType}' AND r.deleted_at IS NULL AND (${where.sql})`;
  }
  const checks = (gate ? `${budgetTerm("r.id")} AND ` : "") +
    (where.household ? `${budgetTerm("g.id")} AND ` : "");
  return `FROM registrants r${
    rowidOrder ? " NOT INDEXED" : ""
  }${join} WHERE ${checks}r.record_type = '${recordType}' ` +
    `AND r.deleted_at IS NULL AND (${where.sql})`;
}

function emit(c: Cond, ctx: SqlContext, out: Out): string {
  if (c.kind === "all") return truth(ctx.dialect, true);
  // The complement, records without the attribute included (NOT of a NULL comparison is NULL, which dropped them,
  // where `ne` keeps them): what the item does not match.
  if (c.kind === "not") return `(${emit(c.item, ctx, out)}) IS NOT TRUE`;
  if (c.kind === "cmp") return comparison(c.attr, c.op, c.value, ctx, out);
  if (c.kind === "and") {
    const merged = intersectAttributes(c.items, ctx, out.params, {
      attributeOf: (item) => positiveAttribute(item, ctx),
      emit: (item) => emit(item, ctx, out),
    });
    if (merged !== undefined) return merged;
  }
  return `(${c.items.map((i) => emit(i, ctx, out)).join(c.kind === "and" ? " AND " : " OR ")})`;
}

/** `c` when it is a positive comparison of one of the registry's own attributes (as `comparison` reads it). */
function positiveAttribute(c: Cond, ctx: SqlContext): AttributeComparison | undefined {
  if (c.kind !== "cmp" || c.op === "ne") return undefined;
  const name = c.attr.trim();
  if (name.toLowerCase() === "age") return undefined;
  const a = profileAttributeOf(name, ctx);
  return a && { a, attr: c.attr, op: c.op, value: c.value };
}

function comparison(attr: string, op: Op, value: unknown, ctx: SqlContext, out: Out): string {
  const { params } = out;
  const name = attr.trim();
  // A core attribute under a person's record path (DR, IBR: `member.demographic_info.birth_date`) is itself.
  const core = withoutPersonPath(name);
  if (core.toLowerCase() === "age") return age(op, value, ctx, params);
  // A registry attribute named (or aliased) as an identifier type is the attribute (ibr's `programme_id`: the
  // programmes a beneficiary is enrolled in, not a PROGRAMME_ID identifier only a programme holds).
  const own = profileAttributeOf(name, ctx);
  if (own) return profileAttributeTest(own, attr, op, value, ctx, params);
  const idType = identifierType(name, ctx.idTypes);
  if (idType !== undefined) return identifier(idType || undefined, op, value, ctx, params);
  if (isTextAttribute(core)) return textAttributeTest(core, op, valuesFor(op, value), ctx, params);
  const def = attributeOf(name);
  if (!def) throw filterError(`attribute ${show(attr)} is not searchable`);
  let target: string;
  if (def.on.includes(ctx.recordType)) target = `r.${def.column}`;
  else if (ctx.recordType === "person" && def.viaGroup && !ctx.noHouseholds) target = `g.${def.column}`;
  else {
    throw filterError(
      `attribute ${show(attr)} does not apply to ${ctx.recordType} records${
        def.viaGroup && ctx.noHouseholds ? " (a household's: this registry has none)" : ""
      }`,
    );
  }
  let test: string;
  if (op === "contains" || op === "like") {
    if (def.kind !== "text" && def.kind !== "upper") {
      throw filterError(`operator ${op} applies to text attributes, not ${show(attr)}`);
    }
    test = likeTest(target, op, valuesFor(op, value)[0], attr, params, ctx.dialect);
  } else {
    const values = valuesFor(op, value).map((v) => {
      const n = normaliseValue(def.kind, v);
      if (n === undefined) throw filterError(`invalid value ${show(v)} for ${show(attr)}`);
      return n;
    });
    test = def.kind === "timestamp"
      ? timestampTest(target, op, values as string[], params)
      : columnTest(target, op, values, params, ctx.dialect);
  }
  return target.startsWith("g.") ? household(target, op, test, ctx, out) : test;
}

/**
 * A comparison of a person's household column: true only when the person has a (live) household whose value
 * passes, otherwise false, never NULL (so NOT is its complement, as with the subquery form it replaces).
 * Search mode reads the joined row `g`; the explicit `IS NOT NULL` also lets the planner enter through a
 * household index. Match mode evaluates one registrant: a lookup by primary key.
 */
function household(target: string, op: Op, test: string, ctx: SqlContext, out: Out): string {
  if (ctx.mode === "match") {
    return `EXISTS (SELECT 1 FROM registrants g WHERE g.id = r.group_id AND g.record_type = '${
      ctx.groupStorage ?? "group"
    }' AND g.deleted_at IS NULL AND ${test})`;
  }
  out.household = true;
  return `(${op === "ne" ? "g.id" : target} IS NOT NULL AND ${test})`;
}

/** The values of a comparison: one, or the list of an `in` (bounded). */
export function valuesFor(op: Op, value: unknown): unknown[] {
  if (op !== "in") {
    if (typeof value === "object" && value !== null) throw filterError(`operator ${op} needs a single value`);
    return [value];
  }
  const list = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : undefined;
  if (!list || list.length === 0 || list.length > MAX_IN) {
    throw filterError(`operator in needs an array or comma list of 1 to ${MAX_IN} values`);
  }
  for (const v of list) {
    if (typeof v === "object" && v !== null) throw filterError("in values must be scalars");
  }
  return list;
}

/**
 * `target op ?` (or `IN (…)`) with the values bound. `json`: the target is `registrant_values.value` (a jsonb on
 * PostgreSQL; query_dialect.ts).
 */
export function columnTest(
  target: string,
  op: Compare | "in",
  values: Array<string | number>,
  params: Array<string | number>,
  dialect?: Dialect,
  json = false,
) {
  params.push(...values);
  const place = (v: string | number) => json ? valueMark(dialect, v) : mark(dialect, v);
  if (op === "in") return `${target} IN (${values.map(place).join(", ")})`;
  const sqlOp = op === "ne" && dialect === "postgres" ? "IS DISTINCT FROM" : SQL_OP[op];
  return `${target} ${sqlOp} ${place(values[0])}`;
}

/**
 * A timestamp (stored as `toISOString` writes it) against query values (normaliseTimestamp): a date is a whole
 * UTC day (`eq 2024-01-02` means any time that day, `gt 2024-01-02` from the next day on), a date-time its
 * instant (`gt 2026-12-03T17:00:00Z` after that instant). `mark` is a value's placeholder and `text` the
 * target as text (both query_dialect.ts).
 */
export function timestampTest(
  target: string,
  op: Compare | "in",
  values: string[],
  params: Array<string | number>,
  mark = "?",
  text = target,
): string {
  const isDay = (v: string) => v.length === 10;
  const one = (v: string) => {
    if (!isDay(v)) return (params.push(v), `(${target} = ${mark})`);
    params.push(v, nextDay(v));
    return `(${target} >= ${mark} AND ${target} < ${mark})`;
  };
  const cmp = (sqlOp: string, v: string) => (params.push(v), `${target} ${sqlOp} ${mark}`);
  const v = values[0];
  switch (op) {
    case "eq":
      return one(v);
    case "ne":
      return `NOT ${one(v)}`;
    case "in": {
      if (values.length <= MAX_RANGES) return `(${values.map(one).join(" OR ")})`;
      const days = values.filter(isDay);
      const instants = values.filter((x) => !isDay(x));
      const sets: string[] = [];
      if (days.length > 0) {
        params.push(...days);
        sets.push(`substr(${text}, 1, 10) IN (${days.map(() => "?").join(", ")})`);
      }
      if (instants.length > 0) {
        params.push(...instants);
        sets.push(`${target} IN (${instants.map(() => mark).join(", ")})`);
      }
      return sets.length === 1 ? sets[0] : `(${sets.join(" OR ")})`;
    }
    // A day: after it is from the next day on, up to it (le) is before the next day.
    case "gt":
      return isDay(v) ? cmp(">=", nextDay(v)) : cmp(">", v);
    case "ge":
      return cmp(">=", v);
    case "lt":
      return cmp("<", v);
    case "le":
      return isDay(v) ? cmp("<", nextDay(v)) : cmp("<=", v);
  }
}

/** The day after `d` (YYYY-MM-DD). */
export function nextDay(d: string): string {
  // After 9999-12-31 comes no date of four-digit years (JS would write "+010000-01-01", which sorts first):
  // "9999-12-32" sorts after every stored date and time of that day.
  if (d >= "9999-12-31") return "9999-12-32";
  return new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** `d` moved back `years` (Feb 29 → Feb 28 in common years). */
function yearsBefore(d: string, years: number): string {
  const [y, m, day] = d.split("-").map(Number);
  const target = new Date(Date.UTC(y - years, m - 1, day));
  if (target.getUTCMonth() !== m - 1) target.setUTCDate(0);
  return target.toISOString().slice(0, 10);
}

/** Age in whole years at `ctx.today`, as birth_date ranges. */
function age(op: Op, value: unknown, ctx: SqlContext, params: Array<string | number>): string {
  if (op === "contains" || op === "like") {
    throw filterError(`operator ${op} applies to text attributes, not "age"`);
  }
  if (ctx.recordType !== "person") throw filterError('attribute "age" applies to person records only');
  const ages = valuesFor(op, value).map((v) => {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 200) throw filterError(`invalid age ${show(v)}`);
    return n;
  });
  // age >= a  ⇔  birth_date <= today − a years;  age <= a  ⇔  birth_date > today − (a + 1) years.
  const atMost = (a: number) => (params.push(yearsBefore(ctx.today, a + 1)), "r.birth_date > ?");
  const atLeast = (a: number) => (params.push(yearsBefore(ctx.today, a)), "r.birth_date <= ?");
  const exactly = (a: number) => `(${atMost(a)} AND ${atLeast(a)})`;
  switch (op) {
    case "eq":
      return exactly(ages[0]);
    case "ne":
      return `${exactly(ages[0])} IS NOT TRUE`; // no birth date: not that age, as `ne` is elsewhere
    case "in":
      if (ages.length > MAX_RANGES) {
        // The same age as the ranges (a birthday on Feb 29 counts on Mar 1 in common years, as yearsBefore).
        params.push(ctx.today, ctx.today, ...ages);
        const today = textMark(ctx.dialect);
        return `(CAST(substr(${today}, 1, 4) AS INTEGER) - CAST(substr(r.birth_date, 1, 4) AS INTEGER) - ` +
          `${asInt(ctx.dialect, `substr(${today}, 6) < substr(r.birth_date, 6)`)}) IN (${
            ages.map(() => "?").join(", ")
          })`;
      }
      return `(${ages.map(exactly).join(" OR ")})`;
    case "gt":
      return atLeast(ages[0] + 1);
    case "ge":
      return atLeast(ages[0]);
    case "lt":
      return ages[0] === 0 ? truth(ctx.dialect, false) : atMost(ages[0] - 1);
    case "le":
      return atMost(ages[0]);
  }
}

/**
 * Names of "an identifier of any type": the core ones, and the DR spec's paths of a person's identifier (its sync
 * endpoints take them, dr_api's sample searches send them).
 */
const ANY_IDENTIFIER = new Set([
  "identifier",
  "identifier_value",
  "id",
  "member_identifier",
  "member.member_identifier",
  "personal_details.member_identifier",
]);

/**
 * "" for any type (`identifier`, `member_identifier`), the type for `UIN`, `identifier.UIN`, `id.uin` (and the
 * registry's own identifier types, `FARMER_ID`); undefined otherwise.
 */
export function identifierType(name: string, idTypes: readonly string[] = []): string | undefined {
  const lower = name.toLowerCase();
  if (ANY_IDENTIFIER.has(lower)) return "";
  const m = /^(?:identifier|id)\.(.+)$/i.exec(name);
  if (m) {
    const t = normaliseIdType(m[1]);
    if (!t) throw filterError(`invalid identifier type ${show(m[1])}`);
    return t;
  }
  const upper = name.toUpperCase();
  return ID_TYPE_ATTRIBUTES.has(upper) || idTypes.includes(upper) ? upper : undefined;
}

function identifier(
  type: string | undefined,
  op: Op,
  value: unknown,
  ctx: SqlContext,
  params: Array<string | number>,
): string {
  if (op !== "eq" && op !== "ne" && op !== "in") {
    throw filterError(`identifiers support eq, ne and in, not ${op}`);
  }
  const pairs = (op === "in" ? valuesFor(op, value) : [value]).map((v) => idPair(type, v));
  const live = ctx.mode === "search" ? " AND i.live = 1" : "";
  const tests = pairs.map(([t, v]) => {
    params.push(v);
    if (t === undefined) return `i.id_value = ?`;
    params.push(t);
    return `(i.id_value = ? AND i.id_type = ?)`;
  });
  const budget = budgetPrefix(ctx, "i.registrant_id");
  const sub = `SELECT i.registrant_id FROM identifiers i WHERE ${budget}(${tests.join(" OR ")})${live}`;
  return `r.id ${op === "ne" ? "NOT IN" : "IN"} (${sub})`;
}

function idPair(type: string | undefined, v: unknown): [string | undefined, string] {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const t = normaliseIdType(o.type ?? o.identifier_type);
    if (!t) throw filterError(`invalid identifier type ${show(o.type ?? o.identifier_type)}`);
    return [t, idValue(o.value ?? o.identifier_value)];
  }
  return [type, idValue(v)];
}

function idValue(v: unknown): string {
  const value = identifierValueOf(v);
  if (value !== undefined) return value;
  if (roundedNumber(v)) throw filterError(roundedNumberMessage("identifier value", v));
  throw filterError(`invalid identifier value ${show(v)}`);
}

/**
 * An identifier value as a query compares it (trimmed), or undefined when empty, over 128 characters, or a number
 * beyond 2^53 (roundedNumber).
 */
export function identifierValueOf(v: unknown): string | undefined {
  if (typeof v === "number") return Number.isFinite(v) && !roundedNumber(v) ? String(v) : undefined;
  if (typeof v !== "string" || v.trim() === "" || v.length > 128) return undefined;
  return v.trim();
}
