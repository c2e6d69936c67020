/**
 * The integrated beneficiary registry (SPDCI IBR, ibr_api_v1.0.0.yaml; records of
 * spdci-schemas/extensions/ibr/v1): beneficiaries — persons and households — with their enrolments in programmes
 * and the benefits received, and the programmes themselves (record type Programme, a record of its own: see
 * ./record_types.ts). Searchable beyond the core attributes: programme, enrollment_status, enrollment_date,
 * benefit_type, benefit_date. Subscription events: `enrollement`, `enrollement_status_change` (the yaml's
 * spelling). Endpoints beyond the standard ones: `sync/enrolled`, `sync/enrollment/updates` (./actions.ts).
 */
import type { RegistryProfile } from "../profile.ts";
import { ENROLLED_ACTION, ENROLLMENT_UPDATES_ACTION } from "./actions.ts";
import { IBR_ATTRIBUTES, IBR_EVENT_TYPES } from "./attributes.ts";
import { IBR_IMPORT_COLUMNS } from "./columns.ts";
import { ibrDemo } from "./demo.ts";
import { readIbrDetails } from "./details.ts";
import { IBR_RECORD_TYPES } from "./record_types.ts";
import { toIbrRecord } from "./records.ts";

/** The IBR registry profile. */
export const ibrProfile: RegistryProfile = {
  name: "ibr",
  title: "Integrated beneficiary registry",
  regType: "ns:org:RegistryType:IBR",
  regTypeAliases: [
    "ibr",
    "integrated_beneficiary_registry",
    "integrated-beneficiary-registry",
    "beneficiary",
    "beneficiary_registry",
  ],
  recordTypes: IBR_RECORD_TYPES,
  idTypes: ["UIN", "NID", "BRN", "MEMBER_ID", "HOUSEHOLD_ID", "PROGRAMME_ID"],
  attributes: IBR_ATTRIBUTES,
  eventTypes: IBR_EVENT_TYPES,
  changeEvents: false,
  standardActions: ["search", "subscribe", "unsubscribe", "txn-status", "receipt"],
  actions: [ENROLLED_ACTION, ENROLLMENT_UPDATES_ACTION],
  readDetails: readIbrDetails,
  toRecord: toIbrRecord,
  importColumns: IBR_IMPORT_COLUMNS,
  demo: ibrDemo,
};
