/**
 * The farmer registry's classes for the JSON-LD validator (tests/helpers/jsonld.ts), with the relaxations of the
 * FR class files' defects, each with its reason; and the reading of a demo input record into a Registrant.
 */
import {
  CORE_ALIASES,
  CORE_CLASSES,
  CORE_CODES,
  CORE_FREE_CODES,
  jsonLdValidator,
} from "../helpers/jsonld.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import type { Registrant } from "../../src/registry/model.ts";
import type { Json, RecordTypeDef } from "../../src/registries/profile.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";

const FR = "extensions/fr/v1/";
const CODES = [
  "AgriSupportActivityEnum",
  "AnimalsEnum",
  "AquaCultureEnum",
  "AquaSupportActivityEnum",
  "CropActivityEnum",
  "CropEnduseEnum",
  "CropTypeEnum",
  "EquipmentSource",
  "FarmTypeEnum",
  "FertilizerTypeEnum",
  "ForestActivityEnum",
  "IrrigationWaterEnum",
  "LandTenureEnum",
  "LivestockSystemEnum",
  "MachineriesEnum",
  "MeasurmentUnitEnum",
];

/** The validator of farmer registry records: `validate(record, "Farmer" | "Group" | ...)`. */
export const frValidator = jsonLdValidator({
  classes: {
    ...CORE_CLASSES,
    Farmer: [`${FR}data/Farmer.jsonld`],
    // FR Member, FRPerson and Group are subclasses of the core ones (rdfs:subClassOf): core properties first.
    Member: ["core/v1/data/Member.jsonld", `${FR}data/Member.jsonld`],
    FRPerson: ["core/v1/data/Person.jsonld", `${FR}data/FRPerson.jsonld`],
    Group: ["core/v1/data/Group.jsonld", `${FR}data/Group.jsonld`],
    FarmInfo: [`${FR}data/FarmInfo.jsonld`],
    FarmingActivities: [`${FR}data/FarmingActivities.jsonld`],
    CropDetails: [`${FR}data/CropDetails.jsonld`],
    LivestockDetails: [`${FR}data/LivestockDetails.jsonld`],
    Machineries: [`${FR}data/Machineries.jsonld`],
  },
  codes: {
    ...CORE_CODES,
    ...Object.fromEntries(CODES.map((c) => [c, `${FR}code/${c}.jsonld`])),
  },
  freeCodes: CORE_FREE_CODES,
  aliases: {
    ...CORE_ALIASES,
    // FarmingActivities.animal_production's range is `spdci:livestockDetails`; the class file LivestockDetails
    // names its class `spdci:Animals`. Both mean the LivestockDetails data object (gitbook DO.FR.05).
    livestockDetails: "LivestockDetails",
  },
  overrides: {
    // Machineries.jsonld declares `spdci:type` twice, the second with range `code:EquipementSource`: it is the
    // data object's `equipement_source` property (gitbook DO.FR.09, the yaml's record example).
    Machineries: { type: "code:MachineriesEnum", equipement_source: "code:EquipmentSource" },
  },
});

/** The record type of an input record's `record_type` (by the profile's names). */
export function recordTypeOf(raw: Json): RecordTypeDef {
  const name = String(raw.record_type ?? "Farmer").toLowerCase();
  const def = frProfile.recordTypes.find((t) => t.names.some((n) => n.toLowerCase() === name));
  if (!def) throw new Error(`no record type ${name}`);
  return def;
}

/** A farmer registry input record read by the registry reader (core fields, and details by the profile). */
export function readFrRecord(raw: Json, now = "2026-01-01T00:00:00.000Z"): Registrant {
  return readRegistrant(raw, now, undefined, frProfile);
}
