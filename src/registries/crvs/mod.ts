/**
 * The civil registration and vital statistics registry (crvs_api_v1.0.0.yaml): persons (spdci CRVS_Person) with
 * the vital events recorded for them (VitalEventTypeEnum), searchable by event type, date and place, parents,
 * marital status and death date; subscribers ask for the vital events (`spdci-common:RegistryEventType:Death`).
 * The yaml defines search, sync search, subscribe, unsubscribe, txn status (async and sync) and notify, and no
 * registry-specific endpoint.
 */
import type { RecordTypeDef, RegistryProfile } from "../profile.ts";
import { CRVS_ATTRIBUTES, CRVS_PERSON } from "./attributes.ts";
import { readCrvsDetails } from "./details.ts";
import { crvsDemo } from "./demo.ts";
import { CRVS_EVENT_TYPES } from "./events.ts";
import { CRVS_IMPORT_COLUMNS } from "./import_columns.ts";
import { CRVS_PERSON_TYPE, toCrvsPerson } from "./record.ts";
import { CRVS_ID_TYPES } from "./vocabulary.ts";

/** The civil registry's one record type: a person and their vital events. */
export const CRVS_PERSON_RECORD: RecordTypeDef = {
  storage: CRVS_PERSON,
  kind: "person",
  // Member: the core class a CRVS person is, and the crvs yaml's example notify_record_type.
  names: [CRVS_PERSON_TYPE, "CRVSPerson", "Person", "Member", "Individual"],
};

/** The civil registration and vital statistics registry. */
export const crvsProfile: RegistryProfile = {
  name: "crvs",
  title: "Civil registration and vital statistics",
  regType: "ns:org:RegistryType:Civil",
  regTypeAliases: [
    "crvs",
    "civil",
    "civil_registry",
    "civilregistry",
    "civil-registry",
    "cr",
    "vital_statistics",
  ],
  recordTypes: [CRVS_PERSON_RECORD],
  idTypes: CRVS_ID_TYPES,
  attributes: CRVS_ATTRIBUTES,
  eventTypes: CRVS_EVENT_TYPES,
  standardActions: ["search", "subscribe", "unsubscribe", "txn-status"],
  txnTypes: ["search", "subscribe", "unsubscribe"],
  actions: [],
  readDetails: (raw, _recordType, errors) => readCrvsDetails(raw, errors),
  toRecord: (reg, _recordType, ctx) => toCrvsPerson(reg, ctx.withContext),
  importColumns: CRVS_IMPORT_COLUMNS,
  demo: crvsDemo,
};
