/**
 * IBR searchable attributes (each value list is written to `registrant_values` with the record) and the
 * subscription event types of the IBR yaml (NotifyEventRequest.data.reg_event_type: `enrollement`,
 * `enrollement_status_change`, spelt as the yaml spells them).
 */
import type { Registrant } from "../../registry/model.ts";
import type { ProfileAttribute, ProfileEventType } from "../profile.ts";
import { BENEFIT_TYPE, codeLabel, type CodeList, ENROLLMENT_STATUS, searchValue } from "./codes.ts";
import { beneficiaryOf, type EnrolmentDetails, PROGRAMME_STORAGE, programmeOf } from "./details.ts";
import { IBR_GROUP, IBR_PERSON } from "./record_types.ts";

/** Storage record types of beneficiaries (persons and households). */
export const BENEFICIARY_STORAGE = ["ibr_person", "ibr_group"] as const;

function enrolments(reg: Registrant): EnrolmentDetails[] {
  return beneficiaryOf(reg.details).enrolments ?? [];
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/** A query value of a code-list attribute (label, code `N` or `prefix:N`) in its stored form. */
function byLabel(list: CodeList): (raw: unknown) => string | undefined {
  return (raw) => {
    const label = codeLabel(list, raw);
    return label === undefined ? undefined : searchValue(label);
  };
}

/** The registry-specific searchable attributes. */
export const IBR_ATTRIBUTES: readonly ProfileAttribute[] = [
  {
    name: "programme",
    aliases: [
      "programme_identifier",
      "programme_id",
      "program",
      "program_id",
      "programme_identifier.programme.programme_identifier",
      "programme_identifier.program.programme_identifier",
    ],
    kind: "text",
    on: [...BENEFICIARY_STORAGE, PROGRAMME_STORAGE],
    values(reg) {
      const own = programmeOf(reg.details)?.programme_identifier;
      if (String(reg.recordType) === PROGRAMME_STORAGE) return own === undefined ? [] : [own];
      return unique(enrolments(reg).map((e) => e.programme_identifier));
    },
    description:
      "A programme the beneficiary is (or was) enrolled in, by programme identifier; a programme's own",
  },
  {
    name: "enrollment_status",
    aliases: ["enrolment_status"],
    kind: "upper",
    on: BENEFICIARY_STORAGE,
    values: (reg) => unique(enrolments(reg).map((e) => searchValue(e.enrollment_status))),
    normalise: byLabel(ENROLLMENT_STATUS),
    description: "An enrolment's status (EnrollmentStatusEnum label: Active, Deceased, Graduated, Suspended)",
  },
  {
    name: "enrollment_date",
    aliases: ["enrolment_date"],
    kind: "date",
    on: BENEFICIARY_STORAGE,
    values: (reg) => unique(enrolments(reg).map((e) => e.enrollment_date)),
    description: "The date of an enrolment (YYYY-MM-DD; ranges with ge / le)",
  },
  {
    name: "benefit_type",
    kind: "upper",
    on: BENEFICIARY_STORAGE,
    values: (reg) =>
      unique(enrolments(reg).flatMap((e) => (e.benefits ?? []).map((b) => searchValue(b.benefit_type)))),
    normalise: byLabel(BENEFIT_TYPE),
    description: "The type of a benefit received (BenefitTypeEnum label: Cash, Voucher, In-kind, ...)",
  },
  {
    name: "benefit_date",
    kind: "date",
    on: BENEFICIARY_STORAGE,
    values: (reg) => unique(enrolments(reg).flatMap((e) => (e.benefits ?? []).map((b) => b.benefit_date))),
    description: "The date a benefit was received (YYYY-MM-DD; ranges with ge / le)",
  },
];

function statuses(reg: Registrant | undefined): Map<string, string> {
  return new Map(reg ? enrolments(reg).map((e) => [e.programme_identifier, e.enrollment_status]) : []);
}

/** The record types that hold enrolments (beneficiaries: persons and households), not a programme. */
const ENROLLED = [IBR_PERSON.storage, IBR_GROUP.storage];

/**
 * The IBR event types; the first name of each is the one notifications carry. Both happen to beneficiaries: a
 * subscription to them for programme records (which hold no enrolments) is refused.
 */
export const IBR_EVENT_TYPES: readonly ProfileEventType[] = [
  {
    // A new enrolment: a beneficiary registered with enrolments, or enrolled in one more programme.
    names: ["enrollement", "enrollment", "enrolment"],
    recordTypes: ENROLLED,
    matches(change, after, before) {
      if (change === "delete") return false;
      const was = statuses(before);
      return enrolments(after).some((e) => !was.has(e.programme_identifier));
    },
  },
  {
    // An enrolment whose status changed (Active → Suspended, → Graduated, → Deceased, ...).
    names: ["enrollement_status_change", "enrollment_status_change", "enrolment_status_change"],
    recordTypes: ENROLLED,
    matches(change, after, before) {
      if (change !== "update" || !before) return false;
      const was = statuses(before);
      return enrolments(after).some((e) => {
        const old = was.get(e.programme_identifier);
        return old !== undefined && old !== e.enrollment_status;
      });
    },
  },
];
