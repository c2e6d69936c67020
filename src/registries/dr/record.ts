/**
 * Stored DR registrants → JSON-LD records of the DR classes: PWDPerson (personal_details a DR Member whose
 * demographic_info is a DRPerson, then the disability part) and the DR Group with its Members. Nested objects
 * carry their class as `@type`, from the declarations in classes.ts.
 */
import type { Registrant } from "../../registry/model.ts";
import { toDciGroup, toDciMember, toDciPerson } from "../social/mapping.ts";
import type { MappingContext, RecordTypeDef } from "../profile.ts";
import { type ClassDef, PWD_DETAILS } from "./classes.ts";

type Json = Record<string, unknown>;

/** JSON-LD context sent with each top-level DR record. */
export const DR_CONTEXT = {
  "@vocab": "https://schema.spdci.org/extensions/dr/v1/data",
  spdcicore: "https://schema.spdci.org/core/v1/data",
  ibr: "https://schema.spdci.org/extensions/ibr/v1/data",
} as const;

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

/**
 * The core part of a record as the social registry maps it (core Person, Member, Group), its persons typed
 * DRPerson: the DR's Person, Member and Group add nothing to the core classes but PWDPerson's disability part.
 */
function asDr<T>(v: T): T {
  if (Array.isArray(v)) return v.map(asDr) as T;
  if (typeof v !== "object" || v === null) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === "@type" && x === "SRPerson" ? "DRPerson" : asDr(x);
  return out as T;
}

/** The DRPerson (core Person) of a registrant. */
export function drPerson(reg: Registrant): Json {
  return asDr(toDciPerson(reg, false));
}

/** A DR Member: the person's identifiers and demographics, related to the group head when there is one. */
export function drMember(reg: Registrant, head?: Registrant): Json {
  return asDr(toDciMember(reg, head));
}

/** The disability part of a person's record (PWDPerson without personal_details), `@type`d. */
export function disabilityPart(reg: Registrant): Json {
  return typed(PWD_DETAILS, reg.details ?? {});
}

/** The PWDPerson record of a person of the DR. */
export function pwdPerson(reg: Registrant): Json {
  return {
    "@type": "PWDPerson",
    "@id": reg.externalId,
    personal_details: drMember(reg),
    ...disabilityPart(reg),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  };
}

/** The DR Group record of a household with its live members (head first). */
export function drGroup(reg: Registrant, members: Registrant[] | undefined): Json {
  return asDr(toDciGroup(reg, members, false));
}

/** The DCI JSON-LD record of a stored DR registrant as `recordType` (RegistryProfile.toRecord). */
export function toDrRecord(reg: Registrant, recordType: RecordTypeDef, ctx: MappingContext): Json {
  const record = recordType.kind === "group" ? drGroup(reg, ctx.members) : pwdPerson(reg);
  return ctx.withContext ? { "@context": DR_CONTEXT, ...record } : record;
}
