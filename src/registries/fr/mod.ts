/**
 * The farmer registry (spec fr_api_v1.0.0.yaml; records of spdci-schemas/extensions/fr/v1): farmers with their
 * farms, crops, livestock and machinery, and farm households or farmer groups. Its spec defines search (sync and
 * async), subscribe, unsubscribe, transaction status and notify, and no registry-specific endpoint. Receipts
 * (`receipt`, `sync/receipt`: a subscriber marks a notification received) are in no yaml of the spec set; the
 * server serves them on every registry that notifies, FR included (tests/helpers/spec_defects.ts).
 */
import type { Json, RecordTypeDef, RegistryProfile } from "../profile.ts";
import { FR_ATTRIBUTES, FR_GROUP, FR_PERSON } from "./attributes.ts";
import { readFarmerDetails } from "./details.ts";
import { fail, isObj } from "./read.ts";
import { toFarmer, toFrGroup } from "./mapping.ts";
import { FR_IMPORT_COLUMNS } from "./import_columns.ts";
import { frDemo } from "./demo.ts";

/** Record types: a farmer (the spec's `Farmer`, class Farmer_Person, with its FRPerson) and a group. */
export const FR_RECORD_TYPES: readonly RecordTypeDef[] = [
  {
    storage: FR_PERSON,
    kind: "person",
    names: [
      "Farmer",
      "Farmer_Person",
      "FarmerPerson",
      "FRPerson",
      "FR_Person",
      "Person",
      "Member",
      "Individual",
    ],
  },
  { storage: FR_GROUP, kind: "group", names: ["Group", "Household", "Family", "FarmerGroup", "Cooperative"] },
];

/** A group holds no farmer details: any field under `details` is refused, naming it. */
function refuseGroupDetails(raw: Json, errors: string[]): undefined {
  const d = raw.details;
  if (d === undefined || d === null) return undefined;
  if (!isObj(d)) return void fail(errors, "details: expected an object");
  for (const key of Object.keys(d)) {
    fail(errors, `details.${key.slice(0, 60)}: unknown field (a group has no farm details)`);
  }
}

/** The farmer registry profile. */
export const frProfile: RegistryProfile = {
  name: "fr",
  title: "Farmer registry",
  regType: "ns:org:RegistryType:FR",
  regTypeAliases: ["fr", "farmer", "farmers", "farmer_registry", "farmerregistry", "farmer-registry"],
  recordTypes: FR_RECORD_TYPES,
  idTypes: ["FARMER_ID", "UIN", "NID", "HOUSEHOLD_ID"],
  attributes: FR_ATTRIBUTES,
  // The FR yaml's reg_event_type enum is REGISTER only: the generic registration / update / delete events.
  eventTypes: [],
  // fr/processflow3req.json subscribes to new farmers' registrations with `RegistryEventType:NewFarmer`.
  registrationNames: ["NewFarmer"],
  standardActions: ["search", "subscribe", "unsubscribe", "txn-status", "receipt"],
  txnTypes: ["search", "subscribe", "unsubscribe"],
  actions: [],
  readDetails(raw, recordType, errors) {
    return recordType.kind === "group" ? refuseGroupDetails(raw, errors) : readFarmerDetails(raw, errors);
  },
  toRecord(reg, recordType, ctx) {
    return recordType.kind === "group" ? toFrGroup(reg, ctx) : toFarmer(reg, ctx.withContext);
  },
  importColumns: FR_IMPORT_COLUMNS,
  demo: frDemo,
};
