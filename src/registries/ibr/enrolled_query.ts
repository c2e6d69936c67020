/**
 * Reads an EnrolledRequest query into what `sync/enrolled` asks: which person (an identifier value, of a type
 * when named), in which programme (optional: any), with which enrolment status (optional: an enrolment that
 * stands, Active or Suspended). Accepted forms, all with `eq` only (a yes/no question names one person):
 *   { "person_identifier": { "eq": "ABC451123" }, "programme_identifier.program.programme_identifier": { "eq": "DCI001" } }
 *   { "attribute_name": "person_identifier", "operator": "eq", "attribute_value": "847951632" }
 *   { "seq_num": 1, "expression1": {...}, "condition": "and", "expression2": {...} }  (query_type predicate;
 *                                                                    also a list of them, all "and")
 *   { "type": "UIN", "value": "..." }                                          (query_type idtype-value)
 *   { "type": "...", "value": { "expression": { ...map... } } }               (query_type expression)
 */
import { normaliseIdType } from "../../registry/attributes.ts";
import { codeLabel, ENROLLMENT_STATUS } from "./codes.ts";
import { IBR_ATTRIBUTES } from "./attributes.ts";
import { isObj, type Obj, show } from "./fields.ts";

/** What one enrolled query asks. */
export interface EnrolledQuestion {
  person: { type?: string; value: string };
  programme?: string;
  status?: string;
}

const PERSON_KEYS = new Set([
  "person_identifier",
  "identifier",
  "member_identifier",
  "member.member_identifier",
  "beneficiary_identifier",
  "group_identifier",
  "group.group_identifier",
]);
const PROGRAMME_KEYS = new Set(["programme", ...(IBR_ATTRIBUTES[0].aliases ?? [])]);
const STATUS_KEYS = new Set(["enrollment_status", "enrolment_status"]);
const ID_TYPE_KEY = /^[A-Z][A-Z0-9_]{0,63}$/;

type Parsed = { ok: true; question: EnrolledQuestion } | { ok: false; reason: string };

/** The question of one enrolled query, or why it cannot be answered. */
export function readEnrolledQuery(queryType: string | undefined, query: unknown): Parsed {
  const type = queryType?.split(":").pop()?.toLowerCase();
  const q: Partial<EnrolledQuestion> = {};
  const problems: string[] = [];
  const set = (attr: string, op: unknown, value: unknown) => assign(q, problems, attr, op, value);
  if (type === "graphql") return { ok: false, reason: "query_type graphql is not supported" };
  /** One predicate (the spec's object, or an element of a list of them); a refusal's reason, if any. */
  const predicate = (item: unknown, where: string): string | undefined => {
    if (!isObj(item)) return `${where}: expected an object`;
    if (item.condition !== undefined && String(item.condition).toLowerCase() !== "and") {
      return `${where}.condition: only "and" (a yes/no question names one person)`;
    }
    for (const e of [item.expression1, item.expression2, item.attribute_name ? item : undefined]) {
      if (isObj(e)) set(String(e.attribute_name ?? ""), e.operator, e.attribute_value);
    }
  };
  if (Array.isArray(query)) {
    for (const [i, item] of query.entries()) {
      const refused = predicate(item, `query[${i}]`);
      if (refused) return { ok: false, reason: refused };
    }
  } else if (isObj(query)) {
    if (isObj(query.expression1) || isObj(query.expression2)) {
      const refused = predicate(query, "query");
      if (refused) return { ok: false, reason: refused };
    } else if (typeof query.attribute_name === "string") {
      set(query.attribute_name, query.operator, query.attribute_value);
    } else if (typeof query.type === "string" && isObj(query.value) && isObj(query.value.expression)) {
      readMap(query.value.expression, set);
    } else if (typeof query.type === "string" && "value" in query && !isObj(query.value)) {
      const person = personOf(query.type, query.value);
      if (person) q.person = person;
      else problems.push(`query: ${show(query)} is not an identifier type and value`);
    } else readMap(query, set);
  } else if (query === undefined) {
    return { ok: false, reason: "query is missing: name the person to look for" };
  } else return { ok: false, reason: "query: expected an object" };
  if (problems.length) return { ok: false, reason: problems.join("; ").slice(0, 999) };
  if (!q.person) {
    return {
      ok: false,
      reason:
        "query names no person: give person_identifier (or member.member_identifier, or an identifier " +
        "type such as UIN) with eq",
    };
  }
  return { ok: true, question: q as EnrolledQuestion };
}

function readMap(map: Obj, set: (attr: string, op: unknown, value: unknown) => void): void {
  for (const [attr, cond] of Object.entries(map)) {
    if (isObj(cond) && !("identifier_value" in cond) && !("value" in cond && "type" in cond)) {
      const ops = Object.keys(cond);
      if (ops.length !== 1) set(attr, ops.join(","), undefined);
      else set(attr, ops[0], cond[ops[0]]);
    } else set(attr, "eq", cond);
  }
}

function assign(
  q: Partial<EnrolledQuestion>,
  problems: string[],
  attr: string,
  op: unknown,
  value: unknown,
): void {
  const operator = String(op ?? "eq").replace(/^\$/, "").toLowerCase();
  const key = attr.trim();
  if (operator !== "eq") {
    problems.push(`${key.slice(0, 60)}: operator ${show(op)} is not supported (only eq)`);
    return;
  }
  const lower = key.toLowerCase();
  if (PERSON_KEYS.has(lower) || ID_TYPE_KEY.test(key)) {
    const person = personOf(PERSON_KEYS.has(lower) ? undefined : key, value);
    if (person) q.person = person;
    else problems.push(`${key.slice(0, 60)}: ${show(value)} is not an identifier value`);
  } else if (PROGRAMME_KEYS.has(lower)) {
    if (typeof value === "string" && value.trim() && value.length <= 64) q.programme = value.trim();
    else problems.push(`${key}: ${show(value)} is not a programme identifier`);
  } else if (STATUS_KEYS.has(lower)) {
    const label = codeLabel(ENROLLMENT_STATUS, value);
    if (label) q.status = label;
    else problems.push(`${key}: ${show(value)} is not in EnrollmentStatusEnum`);
  } else {
    problems.push(
      `${
        key.slice(0, 60)
      }: unknown attribute (person_identifier, an identifier type, programme_identifier, ` +
        "enrollment_status)",
    );
  }
}

/** An identifier from a value (`"123"`, `{type, value}`, `{identifier_type, identifier_value}`). */
function personOf(typeKey: string | undefined, value: unknown): { type?: string; value: string } | undefined {
  let type = typeKey;
  let v = value;
  if (isObj(value)) {
    type = (value.identifier_type ?? value.type) as string | undefined ?? type;
    v = value.identifier_value ?? value.value;
  }
  if (typeof v === "number" && Number.isFinite(v)) v = String(v);
  if (typeof v !== "string" || !v.trim() || v.length > 128) return undefined;
  const t = type === undefined ? undefined : normaliseIdType(type);
  if (type !== undefined && t === undefined) return undefined;
  return { ...(t ? { type: t } : {}), value: v.trim() };
}
