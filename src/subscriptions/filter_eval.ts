/**
 * Evaluating a subscription filter against a registry event: the record AS IT WAS at the event (its snapshot),
 * not as it is when fan-out runs (later changes must not decide an earlier event). The snapshot is turned back
 * into the registrants columns the compiled filter reads, and its registry values and contacts into JSON arrays
 * of pairs (`vals`, `contacts`: src/registry/query_dialect.ts matchValues), bound as parameters of a one-row CTE
 * aliased `r`; identifier and household conditions read the live tables (deleted identifiers are kept there).
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { CompiledFilter } from "./rules.ts";
import type { Registrant } from "../registry/model.ts";
import { dciRecordOf } from "../registries/records.ts";
import { pairsJson, valuePairs } from "../registry/values.ts";
import { contactPairs } from "../registry/contacts.ts";

type Json = Record<string, unknown>;

/** The registrants columns filters can read, in CTE order. */
export const FILTER_COLUMNS = [
  "id",
  "record_type",
  "group_id",
  "given_name",
  "second_name",
  "surname",
  "sex",
  "birth_date",
  "death_date",
  "locality",
  "region",
  "postal_code",
  "country",
  "registration_date",
  "last_updated",
  "group_type",
  "group_size",
  "poverty_score",
  "vals",
  "contacts",
] as const;

/** A column value bound into the one-row CTE. */
export type FilterValue = string | number | null;

function str(v: unknown): string | null {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function day(v: unknown): string | null {
  return typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null;
}

/**
 * An event snapshot as the DCI record and, when stored in that form, the registrant it maps from. The registry
 * stores the registrant JSON (mapped when read); a snapshot that is already a DCI record is taken as is.
 */
export function readSnapshot(json: string): { record: Json; registrant?: Registrant } {
  const parsed = JSON.parse(json) as Json;
  if (typeof parsed.externalId === "string" && typeof parsed.recordType === "string") {
    const registrant = parsed as unknown as Registrant;
    return { registrant, record: dciRecordOf(registrant) };
  }
  return { record: parsed };
}

/** The column values of a registrant, as the store writes them. */
function registrantColumns(reg: Registrant, registrantId: number, groupId: number | null): FilterValue[] {
  const a = reg.addresses?.[0] ?? {};
  const row: Record<(typeof FILTER_COLUMNS)[number], FilterValue> = {
    id: registrantId,
    record_type: reg.recordType,
    group_id: groupId,
    given_name: reg.name?.given_name ?? null,
    second_name: reg.name?.second_name ?? null,
    surname: reg.name?.surname ?? null,
    sex: reg.sex ?? null,
    birth_date: reg.birthDate ?? null,
    death_date: reg.deathDate ?? null,
    locality: a.locality ?? null,
    region: a.region_code ?? null,
    postal_code: a.postal_code ?? null,
    country: a.country_code ?? null,
    registration_date: reg.registrationDate ?? null,
    last_updated: reg.lastUpdated ?? null,
    group_type: reg.groupType ?? null,
    group_size: reg.groupSize ?? null,
    poverty_score: reg.povertyScore ?? null,
    vals: pairsJson(valuePairs(reg)),
    contacts: pairsJson(contactPairs(reg)),
  };
  return FILTER_COLUMNS.map((c) => row[c]);
}

/** The column values of a DCI snapshot (SRPerson or Group), as the store writes them. */
export function snapshotColumns(
  record: Json,
  recordType: string,
  registrantId: number,
  groupId: number | null,
): FilterValue[] {
  const name = (typeof record.name === "object" && record.name !== null ? record.name : {}) as Json;
  const address =
    (Array.isArray(record.address) && typeof record.address[0] === "object" ? record.address[0] : {}) as Json;
  const row: Record<(typeof FILTER_COLUMNS)[number], FilterValue> = {
    id: registrantId,
    record_type: recordType,
    group_id: groupId,
    given_name: str(name.given_name),
    second_name: str(name.second_name),
    surname: str(name.surname),
    sex: str(record.sex),
    birth_date: day(record.birth_date),
    death_date: day(record.death_date),
    locality: str(address.locality),
    region: str(address.region_code),
    postal_code: str(address.postal_code),
    country: str(address.country_code),
    registration_date: str(record.registration_date),
    last_updated: str(record.last_updated),
    group_type: str(record.group_type),
    group_size: num(record.group_size),
    poverty_score: num(record.poverty_score),
    // A snapshot stored as a DCI record (before snapshots kept the registrant) has no registry values read back.
    vals: "[]",
    contacts: "[]",
  };
  return FILTER_COLUMNS.map((c) => row[c]);
}

const CTE = `WITH r0(${FILTER_COLUMNS.join(", ")}) AS (VALUES (${FILTER_COLUMNS.map(() => "?").join(", ")}))`;

/** The column values of the event's record (snapshot) of its registrant, whose household is now `groupId`. */
export function snapshotValues(
  event: { registrant_id: number; record_type: string; snapshot: string },
  groupId: number | null,
): FilterValue[] {
  const snap = readSnapshot(event.snapshot);
  return snap.registrant
    ? registrantColumns(snap.registrant, event.registrant_id, groupId)
    : snapshotColumns(snap.record, event.record_type, event.registrant_id, groupId);
}

/** True when `compiled` holds for the event's record (snapshot) of registrant `registrantId`. */
export function matchesSnapshot(
  db: Db,
  compiled: CompiledFilter,
  event: { registrant_id: number; record_type: string; snapshot: string },
): boolean {
  const current = stmt(db, "SELECT group_id FROM registrants WHERE id = ?").get(event.registrant_id) as
    | { group_id: number | null }
    | undefined;
  const values = snapshotValues(event, current?.group_id ?? null);
  const sql = `${CTE} SELECT 1 AS ok FROM r0 r WHERE (${compiled.sql})`;
  return stmt(db, sql).get(...values, ...compiled.params) !== undefined;
}
