/**
 * The disability registry (DR) profile: dr_api_v1.0.0.yaml with the records of spdci-schemas
 * extensions/dr/v1. Its spec defines search, subscribe, unsubscribe and notify, plus `sync/disabled`,
 * `sync/get-disability-details` and `sync/get-disability-support`; it has **no txn status** endpoint, so none is
 * served for it (receipts of notifications, which no yaml of the set defines, are served as on every registry). Subscriptions take the standard registration / update / delete events
 * (the yaml's reg_event_type enum names only REGISTER).
 */
import type { Json, RecordTypeDef, RegistryProfile } from "../profile.ts";
import { PWD_DETAILS } from "./classes.ts";
import { readClass } from "./read.ts";
import { toDrRecord } from "./record.ts";
import { DR_ATTRIBUTES, DR_RECORD_TYPES } from "./record_types.ts";
import { DR_IMPORT_COLUMNS } from "./import_columns.ts";
import { drDemo } from "./demo.ts";
import { drActions } from "./actions/endpoints.ts";

/** The largest `details` stored, as JSON. */
export const MAX_DETAILS_JSON = 32 * 1024;

/** Reads `details` of a DR input record (RegistryProfile.readDetails); a group has none. */
export function readDrDetails(raw: Json, recordType: RecordTypeDef, errors: string[]): Json | undefined {
  const details = raw.details;
  if (details === undefined || details === null) return undefined;
  if (recordType.kind === "group") {
    errors.push("details: a DR group has no registry-specific fields");
    return undefined;
  }
  const out = readClass(PWD_DETAILS, details, "details", errors);
  // Each list is bounded; together they could still make a record far larger than any real one.
  if (out !== undefined && JSON.stringify(out).length > MAX_DETAILS_JSON) {
    errors.push(`details: larger than ${MAX_DETAILS_JSON / 1024} KiB`);
    return undefined;
  }
  return out;
}

/** The disability registry. */
export const drProfile: RegistryProfile = {
  name: "dr",
  title: "Disability registry",
  regType: "ns:org:RegistryType:DR",
  regTypeAliases: ["dr", "disability", "disability_registry", "disabilityregistry", "pwd"],
  recordTypes: DR_RECORD_TYPES,
  idTypes: ["UIN", "PWD_ID"],
  attributes: DR_ATTRIBUTES,
  eventTypes: [],
  standardActions: ["search", "subscribe", "unsubscribe", "receipt"],
  actions: drActions(),
  readDetails: readDrDetails,
  toRecord: toDrRecord,
  importColumns: DR_IMPORT_COLUMNS,
  demo: drDemo,
};
