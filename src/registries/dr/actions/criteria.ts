/**
 * Reads `disabled_criteria` (DisabledRequest, GetDisabilitySupportRequest) into the one identifier it names.
 * These endpoints answer about one known person ("is this person disabled?"), so the query must name the person
 * by an identifier; anything else is refused per item with rjct.search_criteria.invalid. Accepted forms:
 *   idtype-value  {type, value} or {id_type, id_value}
 *   expression    {"member.member_identifier": {"eq": value}} (the yaml's example; `$eq` and a bare value
 *                 too), {"UIN": {"eq": value}}, {"identifier": {"eq": {type, value}}},
 *                 {"identifier_type": "UIN", "identifier_value": value}
 *   predicate     {expression1: {attribute_name: "UIN", operator: "eq", attribute_value: value}} (or a list of one)
 */
import { type Cond, parseQuery, QueryError, queryTypeName, show } from "../../../registry/query_parse.ts";
import {
  ID_TYPE_ATTRIBUTES,
  normaliseIdType,
  roundedNumber,
  roundedNumberMessage,
} from "../../../registry/attributes.ts";

/** The identifier a criteria names; `type` undefined matches the value under any identifier type. */
export interface IdQuery {
  type?: string;
  value: string;
}

type Json = Record<string, unknown>;

/** Attribute names that mean "an identifier of the person" (any type). */
const IDENTIFIER_ATTRS = new Set([
  "member.member_identifier",
  "member_identifier",
  "personal_details.member_identifier",
  "identifier",
  "identifier_value",
  "id_value",
]);
const TYPE_ATTRS = new Set(["identifier_type", "id_type", "member.member_identifier.type"]);

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function invalid(message: string): QueryError {
  return new QueryError("rjct.search_criteria.invalid", message);
}

function idValue(v: unknown): string {
  if (roundedNumber(v)) throw invalid(roundedNumberMessage("identifier value", v));
  const s = typeof v === "number" && Number.isFinite(v) ? String(v) : v;
  if (typeof s !== "string" || !s.trim() || s.length > 128) {
    throw invalid(`identifier value ${show(v)} must be a string of 1 to 128 characters`);
  }
  return s.trim();
}

function idType(v: unknown): string {
  const t = normaliseIdType(v);
  if (t === undefined) throw invalid(`${show(v)} is not an identifier type`);
  return t;
}

/** `{type, value}` / `{identifier_type, identifier_value}` / `{id_type, id_value}` → IdQuery, else undefined. */
function pair(v: unknown): IdQuery | undefined {
  if (!isObject(v)) return undefined;
  const type = v.type ?? v.identifier_type ?? v.id_type;
  const value = v.value ?? v.identifier_value ?? v.id_value;
  if (value === undefined) return undefined;
  return { type: type === undefined ? undefined : idType(type), value: idValue(value) };
}

const PLAIN_OPS = new Set(["eq", "ne", "neq", "gt", "ge", "gte", "lt", "le", "lte", "in"]);

/** The yaml's example writes operators without `$` (`{"eq": …}`): read them as the MongoDB form. */
function dollarOps(query: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(query)) {
    out[k] = isObject(v) && Object.keys(v).length > 0 && Object.keys(v).every((op) => PLAIN_OPS.has(op))
      ? Object.fromEntries(Object.entries(v).map(([op, x]) => [`$${op}`, x]))
      : v;
  }
  return out;
}

function comparisons(c: Cond): Array<{ attr: string; value: unknown }> {
  if (c.kind === "cmp" && c.op === "eq") return [{ attr: c.attr.trim().toLowerCase(), value: c.value }];
  if (c.kind === "and") return c.items.flatMap(comparisons);
  throw invalid("disabled_criteria.query must name one person by identifier, with eq comparisons only");
}

/** The identifier of a parsed condition: one identifier comparison, or a type and a value. */
function fromCond(cond: Cond): IdQuery {
  let type: string | undefined;
  let value: string | undefined;
  for (const { attr, value: v } of comparisons(cond)) {
    const asType = normaliseIdType(attr);
    if (TYPE_ATTRS.has(attr)) type = idType(v);
    else if (IDENTIFIER_ATTRS.has(attr)) {
      const p = pair(v);
      if (p) [type, value] = [p.type ?? type, p.value];
      else value = idValue(v);
    } else if (asType && (ID_TYPE_ATTRIBUTES.has(asType) || asType === "PWD_ID")) {
      [type, value] = [asType, idValue(v)];
    } else throw invalid(`${show(attr)} is not an identifier attribute (member.member_identifier, UIN, ...)`);
  }
  if (value === undefined) throw invalid("disabled_criteria.query names no identifier value");
  return { type, value };
}

/** The identifier `criteria` names; throws QueryError (rjct.search_criteria.invalid) when it names none. */
export function readDisabledCriteria(criteria: unknown): IdQuery {
  if (!isObject(criteria)) throw invalid("disabled_criteria must be an object");
  const query = criteria.query;
  const type = criteria.query_type === undefined ? undefined : queryTypeName(criteria.query_type);
  if (type === "graphql") {
    throw invalid("query_type graphql is not supported (use idtype-value or expression)");
  }
  if (!isObject(query)) throw invalid("disabled_criteria.query must be an object");
  if (type === "idtype-value" || (type === undefined && pair(query))) {
    const p = pair(query) ?? pair(query.value);
    if (!p?.type) throw invalid("an idtype-value query needs {type, value}");
    return p;
  }
  if (type !== undefined && type !== "expression" && type !== "predicate") {
    throw invalid(`query_type ${show(criteria.query_type)} is not idtype-value, expression or predicate`);
  }
  const keys = Object.keys(query);
  if (keys.length === 1 && IDENTIFIER_ATTRS.has(keys[0].toLowerCase())) {
    const p = pair(query[keys[0]]);
    if (p) return p;
  }
  const predicate = "expression1" in query;
  return fromCond(
    parseQuery(predicate ? "predicate" : "expression", predicate ? query : dollarOps(query)).cond,
  );
}
