/**
 * Stored DR registrants → JSON-LD records of the DR classes: PWDPerson (personal_details a DR Member whose
 * demographic_info is a DRPerson, then the disability part) and the DR Group with its Members. Nested objects
 * carry their class as `@type`, from the declarations in classes.ts.
 */
import type { Address, Registrant } from "../../registry/model.ts";
import type { MappingContext, RecordTypeDef } from "../profile.ts";
import { type ClassDef, PWD_DETAILS } from "./classes.ts";

type Json = Record<string, unknown>;

/** JSON-LD context sent with each top-level DR record. */
export const DR_CONTEXT = {
  "@vocab": "https://schema.spdci.org/extensions/dr/v1/data",
  spdcicore: "https://schema.spdci.org/core/v1/data",
  ibr: "https://schema.spdci.org/extensions/ibr/v1/data",
} as const;

/** Drops undefined values and empty lists. */
function defined(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  }
  return out;
}

/** A date as a DCI DateTime. */
function dateTime(d: string | undefined): string | undefined {
  return d === undefined ? undefined : d.length === 10 ? `${d}T00:00:00Z` : d;
}

/** A stored object of class `cls` with `@type` on it and on every nested object. */
export function typed(cls: ClassDef, stored: Json): Json {
  const out: Json = { "@type": cls.name };
  for (const [k, v] of Object.entries(stored)) {
    const field = cls.fields[k];
    if (field?.kind === "object") out[k] = typed(field.cls, v as Json);
    else if (field?.kind === "list") out[k] = (v as Json[]).map((x) => typed(field.cls, x));
    else out[k] = v;
  }
  return out;
}

function identifiers(reg: Registrant): Json[] {
  return reg.identifiers.map((i) => ({
    "@type": "Identifier",
    identifier_type: i.type,
    identifier_value: i.value,
  }));
}

function address(a: Address): Json {
  return { "@type": "Address", ...a };
}

function additional(attrs: Record<string, unknown>): Json[] {
  return Object.entries(attrs).map(([k, v]) => ({ [k]: v }));
}

/** The DRPerson (core Person) of a registrant. */
export function drPerson(reg: Registrant): Json {
  return defined({
    "@type": "DRPerson",
    "@id": reg.externalId,
    identifier: identifiers(reg),
    name: Object.keys(reg.name).length ? { "@type": "Name", ...reg.name } : undefined,
    sex: reg.sex,
    birth_date: dateTime(reg.birthDate),
    death_date: dateTime(reg.deathDate),
    address: reg.addresses.map(address),
    phone_number: reg.phones,
    email: reg.emails,
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  });
}

/** A DR Member: the person's identifiers and demographics, related to the group head when there is one. */
export function drMember(reg: Registrant, head?: Registrant): Json {
  const related = head && head.externalId !== reg.externalId && reg.relationship
    ? [{
      "@type": "RelatedPerson",
      relationship_type: reg.relationship,
      related_member: { "@type": "DRPerson", "@id": head.externalId, identifier: identifiers(head) },
    }]
    : [];
  return defined({
    "@type": "Member",
    "@id": reg.externalId,
    member_identifier: identifiers(reg),
    demographic_info: drPerson(reg),
    related_person: related,
    additional_attributes: additional(reg.attributes),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  });
}

/** The disability part of a person's record (PWDPerson without personal_details), `@type`d. */
export function disabilityPart(reg: Registrant): Json {
  return typed(PWD_DETAILS, reg.details ?? {});
}

/** The PWDPerson record of a person of the DR. */
export function pwdPerson(reg: Registrant): Json {
  return defined({
    "@type": "PWDPerson",
    "@id": reg.externalId,
    personal_details: drMember(reg),
    ...disabilityPart(reg),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  });
}

/** The DR Group record of a household with its live members (head first). */
export function drGroup(reg: Registrant, members: Registrant[] | undefined): Json {
  const head = members?.find((m) => m.relationship === "SELF" || m.relationship === "HEAD");
  return defined({
    "@type": "Group",
    "@id": reg.externalId,
    group_identifier: identifiers(reg),
    group_type: reg.groupType,
    address: reg.addresses.map(address),
    poverty_score: reg.povertyScore,
    poverty_score_type: reg.povertyScoreType,
    group_head_info: head ? drMember(head, head) : undefined,
    group_size: reg.groupSize ?? members?.length,
    member_list: members?.map((m) => drMember(m, head)),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
    additional_attributes: additional(reg.attributes),
  });
}

/** The DCI JSON-LD record of a stored DR registrant as `recordType` (RegistryProfile.toRecord). */
export function toDrRecord(reg: Registrant, recordType: RecordTypeDef, ctx: MappingContext): Json {
  const record = recordType.kind === "group" ? drGroup(reg, ctx.members) : pwdPerson(reg);
  return ctx.withContext ? { "@context": DR_CONTEXT, ...record } : record;
}
