/** The DR record classes and code lists for tests/helpers/jsonld.ts (records of the disability registry). */
import { jsonLdValidator } from "../helpers/jsonld.ts";
import { CODES } from "../../src/registries/dr/codes.ts";

const DR = "extensions/dr/v1/data";
const CORE = "core/v1/data";

/** Validates a DR record as one of its classes (PWDPerson, DRPerson, Group, DisabilitySupport, ...). */
const validator = jsonLdValidator({
  inheritCore: true,
  checkType: true,
  classes: {
    PWDPerson: `${DR}/PWDPerson.jsonld`,
    DRPerson: `${DR}/DRPerson.jsonld`,
    Member: `${DR}/Member.jsonld`,
    Group: `${DR}/Group.jsonld`,
    DisabilityDetails: `${DR}/DisabilityDetails.jsonld`,
    DisabilitySupport: `${DR}/DisabilitySupport.jsonld`,
    HumanAssistance: `${DR}/HumanAssistance.jsonld`,
    AssistiveTechnology: `${DR}/AssistiveTechnology.jsonld`,
    HousingSupport: `${DR}/HousingSupport.jsonld`,
    MedicalCare: `${DR}/MedicalCare.jsonld`,
    AnimalAssistance: `${DR}/AnimalAssistance.jsonld`,
    Programme: "extensions/ibr/v1/data/Programme.jsonld",
    Identifier: `${CORE}/Identifier.jsonld`,
    Name: `${CORE}/Name.jsonld`,
    Address: `${CORE}/Address.jsonld`,
    RelatedPerson: `${CORE}/RelatedPerson.jsonld`,
  },
  codes: {
    ...Object.fromEntries(
      Object.values(CODES).map((c) => [c.name, { file: c.file, form: "label" as const }]),
    ),
    SexCategoryEnum: { file: "core/v1/code/SexCategoryEnum.jsonld", form: "code" },
    RelationshipEnum: { file: "core/v1/code/RelationshipTypeEnum.jsonld", form: "code" },
    RelationshipTypeEnum: { file: "core/v1/code/RelationshipTypeEnum.jsonld", form: "code" },
  },
  freeCodes: ["IdentifierTypeEnum", "AssistanceUnitEnum"],
  // The files' own slips: core Member's `spdci:RelatePerson`; core Person's and RelatedPerson's `Person`
  // (here a DRPerson); the DR classes' `@id`s PWD_Person / DR_Person beside the DRPerson their ranges name.
  aliases: {
    RelatePerson: "RelatedPerson",
    Person: "DRPerson",
    PWD_Person: "PWDPerson",
    DR_Person: "DRPerson",
  },
});

/** Errors of a DR record as class `cls` (empty when valid). */
export const validateDr = (record: unknown, cls: string): string[] => validator.validate(record, cls);
