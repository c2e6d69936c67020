/**
 * The social registry (SPDCI social registry: SRPerson, Group with Members): the registry this server served
 * alone before issue 13. Its record types keep the storage names `person` and `group`, so its partial indexes
 * (migrations 0003, 0014) and compiled queries are unchanged. Its searchable attributes beyond names, dates and
 * address (group_type, group_size, poverty_score) are columns of `registrants`, declared in the core allowlist
 * (src/registry/attributes.ts) because any registry's groups have them; it has no `details`.
 */
import type { ImportColumn, ProfileEventType, RecordTypeDef, RegistryProfile } from "../profile.ts";
import { toDciGroup, toDciPerson } from "./mapping.ts";
import { demoRecords } from "./seed.ts";

const PERSON: RecordTypeDef = {
  storage: "person",
  kind: "person",
  names: ["SRPerson", "person", "individual", "member"],
};
const GROUP: RecordTypeDef = {
  storage: "group",
  kind: "group",
  names: ["Group", "household", "family", "srgroup"],
};

/**
 * The social yaml's own event (its NotifyEventRequest enum: `REGISTER`, `NewHouseHoldMember`): a person who joins
 * a household, registered in one or moved into another. It is notified with the new member's record (its
 * `group_id` names the household): the change is to the person, whose event it is, so a subscription to it names
 * the person record type.
 */
export const NEW_HOUSEHOLD_MEMBER: ProfileEventType = {
  names: ["NewHouseHoldMember"],
  recordTypes: [PERSON.storage],
  matches: (change, after, before) =>
    change !== "delete" && after.groupRef !== undefined && after.groupRef !== before?.groupRef,
};

/** CSV columns of the social registry beside the shared ones (src/registry/csv.ts). */
const IMPORT_COLUMNS: readonly ImportColumn[] = [
  { column: "group_type", path: "group_type", description: "a group's type, e.g. household" },
  { column: "group_size", path: "group_size", description: "a group's number of members (integer)" },
  { column: "poverty_score", path: "poverty_score", description: "a group's poverty score (number)" },
  { column: "poverty_score_type", path: "poverty_score_type", description: "how it was scored, e.g. PMT" },
];

/** The social registry. */
export const socialProfile: RegistryProfile = {
  name: "social",
  title: "Social registry",
  regType: "ns:org:RegistryType:Social",
  regTypeAliases: ["social", "sr", "social_registry", "socialregistry", "social-registry"],
  recordTypes: [PERSON, GROUP],
  idTypes: ["UIN", "BRN", "NID", "PASSPORT", "HOUSEHOLD_ID"],
  attributes: [],
  eventTypes: [NEW_HOUSEHOLD_MEMBER],
  standardActions: ["search", "subscribe", "unsubscribe", "txn-status", "receipt"],
  actions: [],
  lenientFields: true,
  readDetails: () => undefined,
  toRecord: (reg, recordType, ctx) =>
    recordType.kind === "group"
      ? toDciGroup(reg, ctx.members, ctx.withContext)
      : toDciPerson(reg, ctx.withContext),
  importColumns: IMPORT_COLUMNS,
  demo: function* (count, seed) {
    for (const r of demoRecords(count, seed)) yield r.raw as Record<string, unknown>;
  },
};
