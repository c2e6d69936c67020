/**
 * IBR record types. Beneficiaries (persons and households) and the programmes they are enrolled in are records
 * of the one registrants table: a programme is a record of its own (`ibr_programme`, a group-kind row without
 * members whose details declare the programme), so operators import, administer, search and subscribe to
 * programmes with the same tools as beneficiaries.
 */
import type { RecordTypeDef } from "../profile.ts";

/** A person: a Beneficiary when enrolled in a programme, an IBRPerson (a household member) otherwise. */
export const IBR_PERSON: RecordTypeDef = {
  storage: "ibr_person",
  kind: "person",
  names: ["Beneficiary", "IBRPerson", "Person", "Member", "Individual", "SR_Person"],
};

/** A household or family: a Beneficiary (assistance unit Household / Family) when enrolled, a Group otherwise. */
export const IBR_GROUP: RecordTypeDef = {
  storage: "ibr_group",
  kind: "group",
  names: ["Group", "Household", "Family"],
};

/** A programme an operator declares (the Programme class). */
export const IBR_PROGRAMME: RecordTypeDef = {
  storage: "ibr_programme",
  kind: "group",
  names: ["Programme", "Program"],
};

/** Every IBR record type; the first is the default. */
export const IBR_RECORD_TYPES: readonly RecordTypeDef[] = [IBR_PERSON, IBR_GROUP, IBR_PROGRAMME];
