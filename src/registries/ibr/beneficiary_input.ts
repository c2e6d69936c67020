/**
 * A Beneficiary as an SP system sends it (`sync/enrollment/updates`) → the IBR input records `registry import`
 * reads (then `readRegistrant` + `readDetails` check them as any import). Takes both shapes in circulation:
 * this server's own Beneficiary records (member.demographic_info is a Person, programme_identifier a list of
 * Programme with enrolment_date / enrolment_status / benefit) and the yaml's example (demographic_info.person,
 * programme_identifier.programme.{programme_identifier, programme_name}, benefits as one object). JSON-LD keys
 * (`@…`) are dropped; an unknown key of the Beneficiary or of a programme entry is refused naming it.
 */
import { isObj, type Obj } from "./fields.ts";
import { BENEFIT_FIELDS, MAX_ENROLMENTS, PROGRAMME_FIELDS } from "./details.ts";
import { MAX_GROUP_MEMBERS } from "./schemas.ts";

/**
 * Input records for one Beneficiary: the beneficiary (a person or a household), and a household's members, each
 * with the path of the request it came from (`….group.member_list[2]`, `….group.group_head_info`).
 */
export type Converted =
  | { ok: true; main: Obj; members: Array<{ record: Obj; path: string }> }
  | { ok: false; reason: string };

const BENEFICIARY_KEYS = [
  "assistance_unit",
  "member",
  "group",
  "programme_identifier",
  "enrollment_date",
  "enrolment_date",
  "enrollment_status",
  "enrolment_status",
  "status_change_date",
  "benefits",
  "additional_attributes",
  "reference_id",
];
const PROGRAMME_KEYS = [
  ...PROGRAMME_FIELDS,
  "programme",
  "program",
  "enrolment_date",
  "enrollment_date",
  "enrolment_status",
  "enrollment_status",
  "status_change_date",
  "benefit",
  "benefits",
];
const PERSON_KEYS = [
  "identifier",
  "name",
  "sex",
  "birth_date",
  "death_date",
  "address",
  "phone_number",
  "email",
  "registration_date",
];

function unknownKeys(o: Obj, known: readonly string[], path: string): string[] {
  return Object.keys(o).filter((k) => !k.startsWith("@") && !known.includes(k)).map((k) =>
    `${path}.${k.slice(0, 60)}: unknown field`
  );
}

/** A list from a list, one object, or nothing (the yaml's examples write lists as single objects). */
function listOf(v: unknown): unknown[] {
  return v === undefined || v === null || v === "" ? [] : Array.isArray(v) ? v : [v];
}

function pick(o: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null && o[k] !== "") out[k] = o[k];
  return out;
}

function benefits(v: unknown): Obj[] {
  // Only the Benefit fields: the yaml's example adds `benefit_frequency`, which belongs to the Programme.
  return listOf(v).map((b) => isObj(b) ? pick(b, BENEFIT_FIELDS) : (b as Obj));
}

/** One programme entry → an enrolment input (`fallback`: the Beneficiary's own fields, for the first). */
function enrolment(p: Obj, fallback: Obj | undefined): Obj {
  const inner = isObj(p.programme) ? p.programme : isObj(p.program) ? p.program : {};
  const get = (...keys: string[]) => {
    for (const k of keys) if (p[k] !== undefined && p[k] !== "") return p[k];
    for (const k of keys) if (inner[k] !== undefined && inner[k] !== "") return inner[k];
    for (const k of keys) if (fallback?.[k] !== undefined && fallback[k] !== "") return fallback[k];
    return undefined;
  };
  const out: Obj = {
    programme_identifier: typeof p.programme_identifier === "string"
      ? p.programme_identifier
      : inner.programme_identifier,
    programme_name: get("programme_name"),
    enrollment_date: get("enrollment_date", "enrolment_date"),
    enrollment_status: get("enrollment_status", "enrolment_status"),
    status_change_date: get("status_change_date"),
    benefits: benefits(get("benefit", "benefits")),
  };
  return pick(out, Object.keys(out));
}

function identifiersOf(member: Obj, person: Obj): unknown[] {
  const ids = [...listOf(person.identifier)];
  if (person.identifier_type !== undefined) {
    ids.push({ identifier_type: person.identifier_type, identifier_value: person.identifier_value });
  }
  for (const m of listOf(member.member_identifier)) {
    ids.push(isObj(m) ? m : { identifier_type: "MEMBER_ID", identifier_value: m });
  }
  return ids;
}

/** The person input record of a Member (core fields only; relationship towards the household head). */
function personInput(member: Obj, recordType: string): Obj {
  const demo = isObj(member.demographic_info) ? member.demographic_info : {};
  const person = isObj(demo.person) ? demo.person : demo;
  const related = listOf(member.related_person).find(isObj);
  return {
    record_type: recordType,
    ...pick(person, PERSON_KEYS.filter((k) => k !== "identifier")),
    identifier: identifiersOf(member, person),
    ...(related?.relationship_type ? { relationship: related.relationship_type } : {}),
  };
}

/**
 * The Beneficiary's programme entries and their path: on the Beneficiary (this server's records), or in its member
 * or group, where the yaml's Beneficiary example and the spec's enrolment flow (ibr/processflow1req.json) put
 * them; given in both places, refused.
 */
function programmesOf(b: Obj, path: string, errors: string[]): { list: unknown[]; at: string } {
  const own = listOf(b.programme_identifier);
  const part = isObj(b.member) ? "member" : isObj(b.group) ? "group" : undefined;
  const nested = part ? listOf((b[part] as Obj).programme_identifier) : [];
  if (own.length > 0 && nested.length > 0) {
    errors.push(
      `${path}: programme_identifier is given both on the Beneficiary and in its ${part}; give it once`,
    );
  }
  return own.length > 0 || nested.length === 0
    ? { list: own, at: `${path}.programme_identifier` }
    : { list: nested, at: `${path}.${part}.programme_identifier` };
}

/**
 * Whether two input persons are one: they share an identifier (the same type and value), or, neither having any,
 * both have a name and a birth date and their name, sex and birth date are the same.
 */
function samePerson(a: Obj, b: Obj): boolean {
  const keys = (r: Obj) =>
    listOf(r.identifier).filter(isObj).map((i) => `${i.identifier_type}\u0000${i.identifier_value}`);
  const [mine, theirs] = [keys(a), new Set(keys(b))];
  if (mine.length === 0 && theirs.size === 0) {
    const who = (r: Obj) =>
      r.name && r.birth_date ? JSON.stringify([r.name, r.sex, r.birth_date]) : undefined;
    return who(a) !== undefined && who(a) === who(b);
  }
  return mine.some((k) => theirs.has(k));
}

/** Converts one Beneficiary. */
export function beneficiaryInput(b: Obj, path: string): Converted {
  const errors = unknownKeys(b, BENEFICIARY_KEYS, path);
  const { list: programmes, at } = programmesOf(b, path, errors);
  // A record holds at most MAX_ENROLMENTS (readDetails refuses more): refused before the merge reads them all.
  if (programmes.length > MAX_ENROLMENTS) {
    errors.push(`${at}: at most ${MAX_ENROLMENTS} items`);
  } else {
    programmes.forEach((p, i) => {
      if (!isObj(p)) errors.push(`${at}[${i}]: expected a Programme object`);
      else errors.push(...unknownKeys(p, PROGRAMME_KEYS, `${at}[${i}]`));
    });
  }
  if (!isObj(b.member) && !isObj(b.group)) errors.push(`${path}: a member or a group is required`);
  const memberList = isObj(b.group) ? listOf(b.group.member_list) : [];
  if (memberList.length > MAX_GROUP_MEMBERS) {
    errors.push(
      `${path}.group.member_list: more than ${MAX_GROUP_MEMBERS} members (${memberList.length} given)`,
    );
  }
  if (errors.length) return { ok: false, reason: errors.join("; ").slice(0, 999) };
  const enrolments = (programmes as Obj[]).map((p, i) => enrolment(p, i === 0 ? b : undefined));
  const details = pick({ assistance_unit: b.assistance_unit, enrolments }, ["assistance_unit", "enrolments"]);
  if (isObj(b.member)) {
    return { ok: true, main: { ...personInput(b.member, "Beneficiary"), details }, members: [] };
  }
  const g = b.group as Obj;
  const group: Obj = {
    record_type: "Group",
    ...pick(g, ["group_identifier", "address", "poverty_score", "poverty_score_type", "registration_date"]),
    ...(typeof g["@id"] === "string" ? { id: g["@id"] } : {}),
    details,
  };
  const members = memberList.flatMap((m, i) =>
    isObj(m) ? [{ record: personInput(m, "Beneficiary"), path: `${path}.group.member_list[${i}]` }] : []
  );
  // The household's head (the yaml's Group lists it in group_head_info, often not again in member_list): written
  // as a member whose relationship is HEAD, or the listed member it names marked so.
  if (isObj(g.group_head_info)) {
    const head = personInput(g.group_head_info, "Beneficiary");
    // A listed member related otherwise (a son of the same name) is not the head.
    const listed = members.find((m) =>
      samePerson(m.record, head) && [undefined, "HEAD", "SELF"].includes(m.record.relationship as string)
    );
    if (!listed) {
      members.push({ record: { relationship: "HEAD", ...head }, path: `${path}.group.group_head_info` });
    } else listed.record.relationship ??= "HEAD";
  }
  return { ok: true, main: group, members };
}
