/** Registrants → DCI records: spdci SRPerson (core Person) and social Group with Members. */
import type { Address, Registrant } from "../../registry/model.ts";

/** JSON-LD context sent with each top-level record. */
export const DCI_CONTEXT = {
  "@vocab": "https://schema.spdci.org/extensions/social/v1/data",
  spdcicore: "https://schema.spdci.org/core/v1/data",
} as const;

type Json = Record<string, unknown>;

/** A date as a DCI DateTime (ISO 8601 with zone). */
function dateTime(d: string | undefined): string | undefined {
  return d === undefined ? undefined : d.length === 10 ? `${d}T00:00:00Z` : d;
}

function defined(o: Json): Json {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

/** A registrant's identifiers as spdci Identifiers. */
export function identifiers(reg: Registrant): Json[] {
  return reg.identifiers.map((i) => ({
    "@type": "Identifier",
    identifier_type: i.type,
    identifier_value: i.value,
  }));
}

/** An address as an spdci Address. */
export function address(a: Address): Json {
  return { "@type": "Address", ...a };
}

/**
 * The SRPerson record of a person (`withContext` adds @context for top-level records). Other registries whose
 * person class is the core Person under another name (FRPerson) pass it as `personType`.
 */
export function toDciPerson(reg: Registrant, withContext = true, personType = "SRPerson"): Json {
  const name = Object.keys(reg.name).length ? { "@type": "Name", ...reg.name } : undefined;
  return defined({
    ...(withContext ? { "@context": DCI_CONTEXT } : {}),
    "@type": personType,
    "@id": reg.externalId,
    identifier: identifiers(reg),
    name,
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

function additional(attrs: Record<string, unknown>): Json[] {
  return Object.entries(attrs).map(([k, v]) => ({ [k]: v }));
}

/** A household member as an spdci Member, its relationship pointing at the head (persons typed `personType`). */
export function toDciMember(reg: Registrant, head?: Registrant, personType = "SRPerson"): Json {
  const related = head && head.externalId !== reg.externalId && reg.relationship
    ? [{
      "@type": "RelatedPerson",
      relationship_type: reg.relationship,
      related_member: defined({ "@type": personType, "@id": head.externalId, identifier: identifiers(head) }),
    }]
    : [];
  return defined({
    "@type": "Member",
    "@id": reg.externalId,
    member_identifier: identifiers(reg),
    demographic_info: toDciPerson(reg, false, personType),
    related_person: related,
    additional_attributes: additional(reg.attributes),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  });
}

/** How another registry's Group differs from social's: its members' person class and its JSON-LD context. */
export interface GroupMapping {
  personType?: string;
  context?: Readonly<Record<string, string>>;
}

/** The social Group record of a household with its live members (head first); fr and ibr pass `mapping`. */
export function toDciGroup(
  reg: Registrant,
  members: Registrant[] | undefined,
  withContext = true,
  mapping: GroupMapping = {},
): Json {
  const head = members?.find((m) => m.relationship === "SELF" || m.relationship === "HEAD");
  const personType = mapping.personType ?? "SRPerson";
  return defined({
    ...(withContext ? { "@context": mapping.context ?? DCI_CONTEXT } : {}),
    "@type": "Group",
    "@id": reg.externalId,
    group_identifier: identifiers(reg),
    group_type: reg.groupType,
    address: reg.addresses.map(address),
    poverty_score: reg.povertyScore,
    poverty_score_type: reg.povertyScoreType,
    group_head_info: head ? toDciMember(head, head, personType) : undefined,
    group_size: reg.groupSize ?? members?.length,
    member_list: members?.map((m) => toDciMember(m, head, personType)),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
    additional_attributes: additional(reg.attributes),
  });
}

/** The DCI record of any registrant (groups without members unless given). */
export function toDciRecord(reg: Registrant, members?: Registrant[]): Json {
  return reg.recordType === "group" ? toDciGroup(reg, members) : toDciPerson(reg);
}
