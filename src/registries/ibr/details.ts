/**
 * The registry-specific part of IBR records (`Registrant.details`), read from input records: a beneficiary's
 * (person or household) enrolments in programmes with the benefits received, and a programme's description.
 *
 *   person / group: { assistance_unit?, enrolments: [{ programme_identifier, programme_name, enrollment_date,
 *                     enrollment_status, status_change_date?: [date], benefits?: [{ benefit_type, benefit_date,
 *                     benefit_value?, benefit_description?, benefit_quantity? }] }] }
 *   programme:      { programme_identifier, programme_name, programme_description?, implementing_institution?,
 *                     institution_type?, legal_status?, social_protection_functions?: [..], contribution_type?,
 *                     programme_type?, benefit_frequency?: [{ freq, dtstart?, interval?, wkst?, count?, until? }] }
 *
 * Enumerations are stored as their code-list label; dates as YYYY-MM-DD. The first enrolment is the primary one
 * (a Beneficiary record's own enrollment_date / enrollment_status / benefits are those of the first).
 */
import type { RecordTypeDef } from "../profile.ts";
import {
  ASSISTANCE_UNIT,
  BENEFIT_TYPE,
  CONTRIBUTION_TYPE,
  ENROLLMENT_STATUS,
  FREQUENCIES,
  INSTITUTION,
  LEGAL_STATUS,
  PROGRAMME_TYPE,
  SP_FUNCTION,
} from "./codes.ts";
import { compact, FieldReader, isObj, type Obj } from "./fields.ts";

/** One benefit received. */
export interface BenefitDetails {
  benefit_type: string;
  benefit_date: string;
  benefit_value?: string;
  benefit_description?: string;
  benefit_quantity?: number;
}

/** One enrolment of a beneficiary in a programme. */
export interface EnrolmentDetails {
  programme_identifier: string;
  programme_name: string;
  enrollment_date: string;
  enrollment_status: string;
  status_change_date?: string[];
  benefits?: BenefitDetails[];
}

/** The details of a beneficiary (person or household). */
export interface BeneficiaryDetails {
  assistance_unit?: string;
  enrolments?: EnrolmentDetails[];
}

/** One BenefitFrequency (an RRULE). */
export interface FrequencyDetails {
  freq: string;
  dtstart?: string;
  interval?: number;
  wkst?: string;
  count?: number;
  until?: string;
}

/** The details of a programme record. */
export interface ProgrammeDetails {
  programme_identifier: string;
  programme_name: string;
  programme_description?: string;
  implementing_institution?: string;
  institution_type?: string;
  legal_status?: string;
  social_protection_functions?: string[];
  contribution_type?: string;
  programme_type?: string;
  benefit_frequency?: FrequencyDetails[];
}

/** Storage record type of programmes (a programme is a record of its own: see ./index.ts). */
export const PROGRAMME_STORAGE = "ibr_programme";

/**
 * Bounds: a record stays small whatever a sender writes, and its searchable values (programme, status and date
 * per enrolment, type and date per benefit: at most 20 + 4 + 20 + 6 + 20 × 20 = 450) stay under the store's 500
 * per record. The Beneficiary class keeps "the most recently provided benefit": 20 per enrolment is history enough.
 */
export const MAX_ENROLMENTS = 20;
export const MAX_BENEFITS = 20;
const MAX_STATUS_CHANGES = 20;

const BENEFICIARY_FIELDS = ["assistance_unit", "enrolments", "enrollments"] as const;
const ENROLMENT_FIELDS = [
  "programme_identifier",
  "programme_name",
  "enrollment_date",
  "enrolment_date",
  "enrollment_status",
  "enrolment_status",
  "status_change_date",
  "benefits",
] as const;
/** The fields of a benefit received. */
export const BENEFIT_FIELDS = [
  "benefit_type",
  "benefit_date",
  "benefit_value",
  "benefit_description",
  "benefit_quantity",
] as const;
/** The fields of a programme declaration. */
export const PROGRAMME_FIELDS = [
  "programme_identifier",
  "programme_name",
  "programme_description",
  "implementing_institution",
  "institution_type",
  "legal_status",
  "social_protection_functions",
  "contribution_type",
  "programme_type",
  "benefit_frequency",
] as const;
const FREQUENCY_FIELDS = ["freq", "dtstart", "interval", "wkst", "count", "until"] as const;

/** A currency amount as the spec's examples write it (`USD 50`), read as `CCC amount` or `amount CCC`. */
const CURRENCY = /^(?:([A-Za-z]{3}) ?(\d{1,12}(?:\.\d{1,4})?)|(\d{1,12}(?:\.\d{1,4})?) ?([A-Za-z]{3}))$/;

/** Reads `raw.details` for `recordType` (see RegistryProfile.readDetails). */
export function readIbrDetails(raw: Obj, recordType: RecordTypeDef, errors: string[]): Obj | undefined {
  const v = raw.details;
  if (v === undefined || v === null) {
    if (recordType.storage === PROGRAMME_STORAGE) {
      errors.push("details: required (a programme's identifier and name)");
    }
    return undefined;
  }
  const r = new FieldReader(errors);
  const details = r.object(v, "details");
  if (!details) return undefined;
  if (recordType.storage === PROGRAMME_STORAGE) return readProgramme(r, details) as unknown as Obj;
  return readBeneficiary(r, details, recordType.kind) as unknown as Obj;
}

function readBeneficiary(r: FieldReader, d: Obj, kind: "person" | "group"): BeneficiaryDetails {
  r.known(d, "details", BENEFICIARY_FIELDS);
  const unit = r.label(ASSISTANCE_UNIT, d.assistance_unit, "details.assistance_unit");
  if (unit !== undefined && (kind === "group") !== (unit !== ASSISTANCE_UNIT.labels[0])) {
    r.errors.push(
      `details.assistance_unit: ${JSON.stringify(unit)} does not fit a ${kind} record (a person is a ` +
        `"${ASSISTANCE_UNIT.labels[0]}", a group a household or family)`,
    );
  }
  const key = d.enrolments !== undefined ? "enrolments" : "enrollments";
  const enrolments = r.list(d[key], `details.${key}`, MAX_ENROLMENTS, (x, p) => readEnrolment(r, x, p));
  const seen = new Set<string>();
  enrolments.forEach((e, i) => {
    if (seen.has(e.programme_identifier)) {
      r.errors.push(`details.${key}[${i}].programme_identifier: ${e.programme_identifier} is enrolled twice`);
    }
    seen.add(e.programme_identifier);
  });
  return compact({ assistance_unit: unit, enrolments });
}

/** An object whose every field is empty (a CSV row's unused enrolment or benefit columns). */
function blank(v: unknown): boolean {
  return isObj(v) && Object.values(v).every((x) => x === undefined || x === null || x === "" || blank(x));
}

function readEnrolment(r: FieldReader, v: unknown, path: string): EnrolmentDetails | undefined {
  if (blank(v)) return undefined;
  const o = r.object(v, path);
  if (!o) return undefined;
  r.known(o, path, ENROLMENT_FIELDS);
  const dateKey = o.enrollment_date !== undefined ? "enrollment_date" : "enrolment_date";
  const statusKey = o.enrollment_status !== undefined ? "enrollment_status" : "enrolment_status";
  const e = compact({
    programme_identifier: r.code(o.programme_identifier, `${path}.programme_identifier`, true),
    programme_name: r.required(o.programme_name, `${path}.programme_name`),
    enrollment_date: r.date(o[dateKey], `${path}.${dateKey}`, true),
    enrollment_status: r.label(ENROLLMENT_STATUS, o[statusKey], `${path}.${statusKey}`, true),
    status_change_date: r.list(
      o.status_change_date,
      `${path}.status_change_date`,
      MAX_STATUS_CHANGES,
      (x, p) => r.date(x, p, true),
    ).sort(),
    benefits: r.list(o.benefits, `${path}.benefits`, MAX_BENEFITS, (x, p) => readBenefit(r, x, p)),
  });
  return e.programme_identifier && e.programme_name && e.enrollment_date && e.enrollment_status
    ? e as EnrolmentDetails
    : undefined;
}

function readBenefit(r: FieldReader, v: unknown, path: string): BenefitDetails | undefined {
  if (blank(v)) return undefined;
  const o = r.object(v, path);
  if (!o) return undefined;
  r.known(o, path, BENEFIT_FIELDS);
  const b = compact({
    benefit_type: r.label(BENEFIT_TYPE, o.benefit_type, `${path}.benefit_type`, true),
    benefit_date: r.date(o.benefit_date, `${path}.benefit_date`, true),
    benefit_value: currency(r, o.benefit_value, `${path}.benefit_value`),
    benefit_description: r.text(o.benefit_description, `${path}.benefit_description`, 1000),
    benefit_quantity: r.integer(o.benefit_quantity, `${path}.benefit_quantity`),
  });
  return b.benefit_type && b.benefit_date ? b as BenefitDetails : undefined;
}

/** `USD 50`, `50 usd`, `USD50` → `USD 50`. */
function currency(r: FieldReader, v: unknown, path: string): string | undefined {
  const s = r.text(v, path, 32);
  if (s === undefined) return undefined;
  const m = CURRENCY.exec(s);
  if (!m) {
    r.errors.push(`${path}: ${JSON.stringify(s)} is not a currency amount like "USD 50"`);
    return undefined;
  }
  return m[1] ? `${m[1].toUpperCase()} ${m[2]}` : `${m[4].toUpperCase()} ${m[3]}`;
}

function readProgramme(r: FieldReader, d: Obj): ProgrammeDetails | undefined {
  r.known(d, "details", PROGRAMME_FIELDS);
  const p = compact({
    programme_identifier: r.code(d.programme_identifier, "details.programme_identifier", true),
    programme_name: r.required(d.programme_name, "details.programme_name"),
    programme_description: r.text(d.programme_description, "details.programme_description", 2000),
    implementing_institution: r.text(d.implementing_institution, "details.implementing_institution"),
    institution_type: r.label(INSTITUTION, d.institution_type, "details.institution_type"),
    legal_status: r.label(LEGAL_STATUS, d.legal_status, "details.legal_status"),
    social_protection_functions: [
      ...new Set(r.list(
        d.social_protection_functions,
        "details.social_protection_functions",
        SP_FUNCTION.labels.length,
        (x, p) => r.label(SP_FUNCTION, x, p, true),
      )),
    ],
    contribution_type: r.label(CONTRIBUTION_TYPE, d.contribution_type, "details.contribution_type"),
    programme_type: r.label(PROGRAMME_TYPE, d.programme_type, "details.programme_type"),
    benefit_frequency: r.list(
      d.benefit_frequency,
      "details.benefit_frequency",
      5,
      (x, p) => frequency(r, x, p),
    ),
  });
  return p.programme_identifier && p.programme_name ? p as ProgrammeDetails : undefined;
}

function frequency(r: FieldReader, v: unknown, path: string): FrequencyDetails | undefined {
  const o = r.object(v, path);
  if (!o) return undefined;
  r.known(o, path, FREQUENCY_FIELDS);
  const freq = r.required(o.freq, `${path}.freq`, 16)?.toUpperCase();
  if (freq !== undefined && !(FREQUENCIES as readonly string[]).includes(freq)) {
    r.errors.push(
      `${path}.freq: ${JSON.stringify(freq)} is not an RRULE frequency (${FREQUENCIES.join(", ")})`,
    );
  }
  const wkst = r.text(o.wkst, `${path}.wkst`, 2)?.toUpperCase();
  if (wkst !== undefined && !["MO", "TU", "WE", "TH", "FR", "SA", "SU"].includes(wkst)) {
    r.errors.push(`${path}.wkst: ${JSON.stringify(wkst)} is not a weekday (MO … SU)`);
  }
  const f = compact({
    freq,
    dtstart: r.date(o.dtstart, `${path}.dtstart`),
    interval: r.integer(o.interval, `${path}.interval`, 1000),
    wkst,
    count: r.integer(o.count, `${path}.count`, 100_000),
    until: r.date(o.until, `${path}.until`),
  });
  return freq ? f as FrequencyDetails : undefined;
}

/** The beneficiary details of a stored record (empty when it has none). */
export function beneficiaryOf(details: Obj | undefined): BeneficiaryDetails {
  return isObj(details) ? details as BeneficiaryDetails : {};
}

/** The programme details of a stored programme record. */
export function programmeOf(details: Obj | undefined): ProgrammeDetails | undefined {
  return isObj(details) && typeof details.programme_identifier === "string"
    ? details as unknown as ProgrammeDetails
    : undefined;
}
