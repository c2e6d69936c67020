/**
 * Stored IBR records → DCI JSON-LD records (spdci-schemas/extensions/ibr/v1/data):
 * - a person or household with enrolments → `Beneficiary` (the yaml's search answers carry Beneficiary
 *   records): `assistance_unit`, the `member` (a person: Member whose demographic_info is an IBRPerson) or the
 *   `group` (a household: IBR Group with its members), `programme_identifier` listing every enrolment as a
 *   `Programme` (with its `enrolment_date` / `enrolment_status`, which the Programme class requires, and the
 *   benefits received in it as `benefit`), and the primary (first) enrolment's `enrollment_date`,
 *   `enrollment_status`, `status_change_date` and `benefits`;
 * - a person without enrolments (a household member not enrolled in their own right) → `IBRPerson`;
 *   a household without enrolments → IBR `Group`;
 * - a programme → `Programme` (its declaration: no enrolment fields).
 */
import type { Registrant } from "../../registry/model.ts";
import { toDciGroup, toDciMember, toDciPerson } from "../social/mapping.ts";
import type { MappingContext, RecordTypeDef } from "../profile.ts";
import { ASSISTANCE_UNIT } from "./codes.ts";
import {
  beneficiaryOf,
  type BenefitDetails,
  type EnrolmentDetails,
  PROGRAMME_STORAGE,
  programmeOf,
} from "./details.ts";
import { compact, type Obj } from "./fields.ts";

/** JSON-LD context of top-level IBR records. */
export const IBR_CONTEXT = {
  "@vocab": "https://schema.spdci.org/extensions/ibr/v1/data",
  spdcicore: "https://schema.spdci.org/core/v1/data",
} as const;

/** A date as a DCI DateTime (ISO 8601 with zone). */
function dateTime(d: string | undefined): string | undefined {
  return d === undefined ? undefined : d.length === 10 ? `${d}T00:00:00Z` : d;
}

/** A record with the IBR context when it is a top-level one. */
function inContext(record: Obj, withContext: boolean): Obj {
  return withContext ? { "@context": IBR_CONTEXT, ...record } : record;
}

/** The IBRPerson (core Person) of a person record. */
export function ibrPerson(reg: Registrant, withContext: boolean): Obj {
  return inContext(toDciPerson(reg, false, "IBRPerson"), withContext);
}

/** A person as an IBR Member (its relationship pointing at the household head, when given). */
export function ibrMember(reg: Registrant, head?: Registrant): Obj {
  return toDciMember(reg, head, "IBRPerson");
}

/** A household as an IBR Group with its members (head first); its group_type is its assistance unit. */
export function ibrGroup(reg: Registrant, members: Registrant[] | undefined, withContext: boolean): Obj {
  return {
    ...inContext(toDciGroup(reg, members, false, { personType: "IBRPerson" }), withContext),
    group_type: beneficiaryOf(reg.details).assistance_unit ?? ASSISTANCE_UNIT.labels[1],
  };
}

function benefit(b: BenefitDetails): Obj {
  return compact({
    "@type": "Benefit",
    benefit_type: b.benefit_type,
    benefit_date: dateTime(b.benefit_date),
    benefit_value: b.benefit_value,
    benefit_description: b.benefit_description,
    benefit_quantity: b.benefit_quantity,
  });
}

/** One enrolment as the Programme entry of a Beneficiary. */
function enrolment(e: EnrolmentDetails): Obj {
  return compact({
    "@type": "Programme",
    programme_identifier: e.programme_identifier,
    programme_name: e.programme_name,
    enrolment_date: dateTime(e.enrollment_date),
    enrolment_status: e.enrollment_status,
    benefit: (e.benefits ?? []).map(benefit),
  });
}

/** The Beneficiary record of a person or household with enrolments. */
function beneficiary(reg: Registrant, type: RecordTypeDef, ctx: MappingContext): Obj {
  const d = beneficiaryOf(reg.details);
  const enrolments = d.enrolments ?? [];
  const primary = enrolments[0];
  const group = type.kind === "group";
  return compact({
    ...(ctx.withContext ? { "@context": IBR_CONTEXT } : {}),
    "@type": "Beneficiary",
    "@id": reg.externalId,
    assistance_unit: d.assistance_unit ?? ASSISTANCE_UNIT.labels[group ? 1 : 0],
    member: group ? undefined : ibrMember(reg),
    group: group ? ibrGroup(reg, ctx.members, false) : undefined,
    programme_identifier: enrolments.map(enrolment),
    enrollment_date: dateTime(primary.enrollment_date),
    enrollment_status: primary.enrollment_status,
    status_change_date: (primary.status_change_date ?? []).map(dateTime),
    // Required by the class: the primary enrolment's benefits, an empty list when none were received yet.
    benefits: (primary.benefits ?? []).map(benefit),
  }, ["benefits"]);
}

/** The Programme record of a programme declaration. */
function programme(reg: Registrant, ctx: MappingContext): Obj {
  const p = programmeOf(reg.details);
  return compact({
    ...(ctx.withContext ? { "@context": IBR_CONTEXT } : {}),
    "@type": "Programme",
    "@id": reg.externalId,
    programme_identifier: p?.programme_identifier ?? reg.externalId,
    programme_name: p?.programme_name ?? reg.externalId,
    programme_description: p?.programme_description,
    implementing_institution: p?.implementing_institution,
    institution_type: p?.institution_type,
    legal_status: p?.legal_status,
    social_protection_functions: p?.social_protection_functions,
    contribution_type: p?.contribution_type,
    programme_type: p?.programme_type,
    benefit_frequency: (p?.benefit_frequency ?? []).map((f) =>
      compact({
        "@type": "BenefitFrequency",
        ...f,
        dtstart: dateTime(f.dtstart),
        until: dateTime(f.until),
      })
    ),
  });
}

/** The DCI record of a stored IBR registrant (RegistryProfile.toRecord). */
export function toIbrRecord(reg: Registrant, type: RecordTypeDef, ctx: MappingContext): Obj {
  if (type.storage === PROGRAMME_STORAGE) return programme(reg, ctx);
  if ((beneficiaryOf(reg.details).enrolments ?? []).length > 0) return beneficiary(reg, type, ctx);
  return type.kind === "group"
    ? ibrGroup(reg, ctx.members, ctx.withContext)
    : ibrPerson(reg, ctx.withContext);
}
