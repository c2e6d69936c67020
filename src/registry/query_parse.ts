/**
 * Parsing DCI queries (idtype-value, predicate, expression in MongoDB and OpenSPP form, CEL predicates) into
 * one small condition tree. Nothing here touches SQL: `query_sql.ts` turns the tree into parameterised SQL.
 */
import { celText, parseCel } from "./query_cel.ts";

/** A per-item rejection raised while reading or compiling a query. */
export class QueryError extends Error {
  constructor(
    readonly code: "rjct.filter.invalid" | "rjct.search_criteria.invalid" | "rjct.sort.invalid",
    message: string,
  ) {
    super(message.slice(0, 999));
    this.name = "QueryError";
  }
}

/**
 * Comparison operators (DCI names). `contains` is a case-insensitive substring test; `like` an SQL LIKE
 * pattern (`%`, `_`, `\` escapes), case-insensitive, read as `contains` when it has no wildcard (as OpenSPP's
 * Odoo `ilike`, which its `like` maps to).
 */
export type Op = "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "in" | "contains" | "like";

/** The condition tree every query form is read into (`all`: every record, an empty OpenSPP `seq`). */
export type Cond =
  | { kind: "cmp"; attr: string; op: Op; value: unknown }
  | { kind: "and" | "or"; items: Cond[] }
  | { kind: "not"; item: Cond }
  | { kind: "all" };

/** A parsed query: its condition and the record collection it names, if any. */
export interface ParsedQuery {
  cond: Cond;
  collection?: string;
}

/** Query types this server evaluates. */
export const QUERY_TYPES = ["idtype-value", "predicate", "expression"] as const;

/** At most this many comparisons in one query (every query form, CEL included). */
export const MAX_COMPARISONS = 64;
/** At most this nesting depth of and/or/not in one query. */
export const MAX_DEPTH = 10;

const OPS: Record<string, Op> = {
  eq: "eq",
  "=": "eq",
  "==": "eq",
  $eq: "eq",
  ne: "ne",
  neq: "ne",
  "!=": "ne",
  "<>": "ne",
  $ne: "ne",
  gt: "gt",
  ">": "gt",
  $gt: "gt",
  ge: "ge",
  gte: "ge",
  ">=": "ge",
  $gte: "ge",
  lt: "lt",
  "<": "lt",
  $lt: "lt",
  le: "le",
  lte: "le",
  "<=": "le",
  $lte: "le",
  in: "in",
  $in: "in",
  contains: "contains",
  $contains: "contains",
  icontains: "contains",
  like: "like",
  $like: "like",
  ilike: "like",
};

function opOf(raw: unknown): Op {
  const key = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  if (!Object.hasOwn(OPS, key)) throw filterError(`unknown operator ${show(raw)}`);
  return OPS[key];
}

/** A filter.invalid error. */
export function filterError(message: string): QueryError {
  return new QueryError("rjct.filter.invalid", message);
}

/** A short, safe rendering of a client value for messages. */
export function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The query type a client sent, as this server reads it (`urn:…:IdType-Value` → `idtype-value`). */
export function queryTypeName(queryType: unknown): string | undefined {
  return typeof queryType === "string" ? queryType.trim().toLowerCase().split(":").pop() : undefined;
}

/** Reads `query` according to `queryType`; throws QueryError. */
export function parseQuery(queryType: unknown, query: unknown): ParsedQuery {
  const type = queryTypeName(queryType);
  let parsed: ParsedQuery;
  if (type === "idtype-value") parsed = { cond: parseIdTypeValue(query) };
  else if (type === "predicate") parsed = { cond: parsePredicate(query) };
  else if (type === "expression") parsed = parseExpression(query);
  else {
    throw new QueryError(
      "rjct.search_criteria.invalid",
      `query_type ${show(queryType)} is not supported (use idtype-value, predicate or expression)`,
    );
  }
  const counted = count(parsed.cond, 0);
  if (counted > MAX_COMPARISONS) throw filterError(`query has more than ${MAX_COMPARISONS} comparisons`);
  // No stored text holds NUL (records refuse it; PostgreSQL text cannot hold it): refused alike on both backends,
  // where SQLite answered it (a `ne` matched every record) and PostgreSQL refused it or failed its statement.
  if (hasNul(parsed.cond)) {
    throw filterError("a value contains the NUL character (U+0000), which no record holds");
  }
  return parsed;
}

/** Whether a string anywhere in `v` (a parsed query, a value) holds NUL. */
export function hasNul(v: unknown): boolean {
  if (typeof v === "string") return v.includes("\u0000");
  if (typeof v === "object" && v !== null) return Object.values(v).some(hasNul);
  return false;
}

function count(c: Cond, depth: number): number {
  if (depth > MAX_DEPTH) throw filterError(`query is nested deeper than ${MAX_DEPTH} levels`);
  if (c.kind === "cmp") return 1;
  // An empty item (`{seq: []}`, every record) costs nothing to run alone, but a list of a thousand of them made
  // an expression too deep for SQLite to prepare: each counts as a comparison.
  if (c.kind === "all") return depth === 0 ? 0 : 1;
  if (c.kind === "not") return count(c.item, depth + 1);
  if (c.items.length === 0) throw filterError(`empty ${c.kind} list`);
  return c.items.reduce((n, i) => n + count(i, depth + 1), 0);
}

/**
 * The type and value an idtype-value query names, as given (unchecked): the spec's `{type, value}`, or OpenG2P's
 * older `{id_type, id_value}` (`older`), alone or as the value of `{type: "idtype-value", value}`.
 */
export function idTypeValueParts(query: unknown): { type: unknown; value: unknown; older: boolean } {
  const older = isObject(query) && isObject(query.value) && "id_type" in query.value ? query.value : query;
  if (isObject(older) && ("id_type" in older || "id_value" in older)) {
    return { type: older.id_type, value: older.id_value, older: true };
  }
  return isObject(query)
    ? { type: query.type, value: query.value, older: false }
    : { type: undefined, value: undefined, older: false };
}

function parseIdTypeValue(query: unknown): Cond {
  const { type, value, older } = idTypeValueParts(query);
  if (type === undefined || value === undefined) {
    throw new QueryError(
      "rjct.search_criteria.invalid",
      older ? "idtype-value query needs {id_type, id_value}" : "idtype-value query needs {type, value}",
    );
  }
  return { kind: "cmp", attr: "identifier", op: "eq", value: { type, value } };
}

function parsePredicate(query: unknown): Cond {
  const cel = celText(query);
  if (cel !== undefined) return parseCel(cel);
  const list = Array.isArray(query) ? query : isObject(query) ? [query] : undefined;
  if (!list || list.length === 0) {
    throw new QueryError("rjct.search_criteria.invalid", "predicate query must be a non-empty array");
  }
  const items = list.map((item, index) => ({ item, index })).sort((a, b) =>
    seqOf(a.item, a.index) - seqOf(b.item, b.index) || a.index - b.index
  );
  return { kind: "and", items: items.map(({ item }) => predicateItem(item)) };
}

function seqOf(item: unknown, index: number): number {
  // Only a number or a numeric string: Number() of an object runs its (client-named) toString/valueOf.
  const raw = isObject(item) ? item.seq_num : undefined;
  const s = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() ? Number(raw) : NaN;
  return Number.isFinite(s) ? s : index;
}

function predicateItem(item: unknown): Cond {
  if (!isObject(item) || !isObject(item.expression1)) {
    throw filterError("each predicate needs expression1 {attribute_name, operator, attribute_value}");
  }
  let cond = predicateExpr(item.expression1);
  // The spec's own sample requests send `"condition": ""` and `"expression2": ""` for "none", clients that write
  // every optional field send `null`: both read as absent.
  const condition = item.condition === undefined || item.condition === null || item.condition === ""
    ? "and"
    : typeof item.condition === "string"
    ? item.condition.trim().toLowerCase()
    : undefined;
  if (condition === undefined || !["and", "or", "not"].includes(condition)) {
    throw filterError(`unknown condition ${show(item.condition)}`);
  }
  let n = 2;
  let applied = false;
  for (; isObject(item[`expression${n}`]); n++) {
    const next = predicateExpr(item[`expression${n}`] as Record<string, unknown>);
    cond = condition === "not"
      ? { kind: "and", items: [cond, { kind: "not", item: next }] }
      : { kind: condition as "and" | "or", items: [cond, next] };
    applied = true;
  }
  const after = item[`expression${n}`];
  if (after !== undefined && after !== null && after !== "") {
    throw filterError(`expression${n} must be an object`);
  }
  if (!applied && condition === "not") return { kind: "not", item: cond };
  return cond;
}

function predicateExpr(e: Record<string, unknown>): Cond {
  if (typeof e.attribute_name !== "string") throw filterError("attribute_name must be a string");
  if (!("attribute_value" in e)) throw filterError(`attribute_value missing for ${show(e.attribute_name)}`);
  return { kind: "cmp", attr: e.attribute_name, op: opOf(e.operator), value: e.attribute_value };
}

function parseExpression(query: unknown): ParsedQuery {
  // Official samples send a predicate list with query_type "expression": read it as a predicate.
  if (Array.isArray(query)) return { cond: parsePredicate(query) };
  if (!isObject(query)) {
    throw new QueryError("rjct.search_criteria.invalid", "expression query must be an object");
  }
  let expr: unknown = query;
  if (isObject(query.value)) expr = "expression" in query.value ? query.value.expression : query.value;
  else if ("expression" in query) expr = query.expression;
  else if (query.value !== undefined) expr = query.value;
  if (typeof expr === "string") return { cond: parseCel(expr) };
  if (!isObject(expr)) {
    throw new QueryError(
      "rjct.search_criteria.invalid",
      "expression must be a MongoDB-style object, {seq, or} or a CEL string (graphql is not supported)",
    );
  }
  let collection: string | undefined;
  if (isObject(expr.query)) {
    collection = typeof expr.collection === "string" ? expr.collection : undefined;
    expr = expr.query;
  }
  const obj = expr as Record<string, unknown>;
  if ("seq" in obj || ("or" in obj && !("$or" in obj))) return { cond: openSpp(obj), collection };
  return { cond: mongo(obj, true), collection };
}

function mongo(obj: Record<string, unknown>, top = false): Cond {
  // An empty top-level query ({"query": {}}, as OpenCRVS-style clients send) is every record.
  if (top && Object.keys(obj).length === 0) return { kind: "all" };
  const items: Cond[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (key === "$and" || key === "$or" || key === "$nor") {
      if (!Array.isArray(v) || v.length === 0) throw filterError(`${key} needs a non-empty array`);
      const list = v.map((x) => isObject(x) ? mongo(x) : fail(`${key} items must be objects`));
      if (key === "$nor") items.push({ kind: "not", item: { kind: "or", items: list } });
      else items.push({ kind: key === "$and" ? "and" : "or", items: list });
    } else if (key === "$not") {
      if (!isObject(v)) throw filterError("$not needs an object");
      items.push({ kind: "not", item: mongo(v) });
    } else if (key.startsWith("$")) {
      throw filterError(`operator ${show(key)} is not supported`);
    } else if (isObject(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => k.startsWith("$"))) {
      for (const [op, value] of Object.entries(v)) items.push(mongoOp(key, op, value));
    } else if (isObject(v) || Array.isArray(v)) {
      throw filterError(`value of ${show(key)} must be a scalar or an operator object`);
    } else {
      items.push({ kind: "cmp", attr: key, op: "eq", value: v });
    }
  }
  if (items.length === 0) throw filterError("empty expression");
  return items.length === 1 ? items[0] : { kind: "and", items };
}

function mongoOp(attr: string, op: string, value: unknown): Cond {
  if (op === "$nin") return { kind: "not", item: { kind: "cmp", attr, op: "in", value } };
  if (op === "$not") {
    if (!isObject(value)) throw filterError("$not needs an operator object");
    return { kind: "not", item: mongo({ [attr]: value }) };
  }
  return { kind: "cmp", attr, op: opOf(op), value };
}

/**
 * OpenSPP's `{seq: [...], or: [...]}`: `(seq[0] AND seq[1] …) OR or[0] OR or[1] …`, as OpenSPP's own server
 * reads it; an empty `seq` alone is every record (paged and capped like any search).
 */
function openSpp(obj: Record<string, unknown>): Cond {
  for (const key of Object.keys(obj)) {
    if (key !== "seq" && key !== "or" && key !== "and") {
      throw filterError(`unknown expression key ${show(key)}`);
    }
  }
  const list = (key: string): Cond[] | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw filterError(`${key} must be an array`);
    return v.map(openSppItem);
  };
  const all = [...(list("seq") ?? []), ...(list("and") ?? [])];
  const alternatives = list("or") ?? [];
  if (alternatives.length === 0) {
    if (all.length === 0) {
      if (obj.seq === undefined || obj.seq === null) throw filterError("empty expression");
      return { kind: "all" };
    }
    return { kind: "and", items: all };
  }
  return {
    kind: "or",
    items: all.length > 0 ? [{ kind: "and", items: all }, ...alternatives] : alternatives,
  };
}

function openSppItem(x: unknown): Cond {
  if (!isObject(x)) return fail("expression items must be objects");
  if ("seq" in x || "or" in x || "and" in x) return openSpp(x);
  const attr = x.attribute ?? x.attribute_name ?? x.field;
  if (typeof attr !== "string") return fail("each condition needs attribute, operator and value");
  const value = "value" in x ? x.value : x.attribute_value;
  if (value === undefined) return fail(`value missing for ${show(attr)}`);
  return { kind: "cmp", attr, op: opOf(x.operator ?? x.op ?? "eq"), value };
}

function fail(message: string): never {
  throw filterError(message);
}
