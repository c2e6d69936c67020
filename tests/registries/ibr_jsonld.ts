/** The IBR JSON-LD classes (spdci-schemas/extensions/ibr/v1 over core/v1) for tests/helpers/jsonld.ts. */
import { type CheckOptions, jsonLdValidator } from "../helpers/jsonld.ts";

const IBR = "extensions/ibr/v1";

function ibrValidator(programmeNotRequired: readonly string[]) {
  const either = (file: string) => ({ file, form: "either" as const });
  const v = jsonLdValidator({
    classes: {
      Beneficiary: [`${IBR}/data/Beneficiary.jsonld`],
      Programme: [`${IBR}/data/Programme.jsonld`],
      Benefit: [`${IBR}/data/Benefit.jsonld`],
      BenefitFrequency: [`${IBR}/code/BenefitFrequency.jsonld`],
      Group: ["core/v1/data/Group.jsonld", `${IBR}/data/Group.jsonld`],
      Member: ["core/v1/data/Member.jsonld", `${IBR}/data/Member.jsonld`],
      Person: ["core/v1/data/Person.jsonld", `${IBR}/data/IBRPerson.jsonld`],
      Identifier: ["core/v1/data/Identifier.jsonld"],
      Name: ["core/v1/data/Name.jsonld"],
      Address: ["core/v1/data/Address.jsonld"],
      RelatedPerson: ["core/v1/data/RelatedPerson.jsonld"],
    },
    codes: {
      EnrollmentStatusEnum: either(`${IBR}/code/EnrollmentStatusEnum.jsonld`),
      BenefitTypeEnum: either(`${IBR}/code/BenefitTypeEnum.jsonld`),
      InstitutionEnum: either(`${IBR}/code/InstitutionEnum.jsonld`),
      LegalStatusEnum: either(`${IBR}/code/LegalStatusEnum.jsonld`),
      ContributionTypeEnum: either(`${IBR}/code/ContributionTypeEnum.jsonld`),
      ProgrammeTypeEnum: either(`${IBR}/code/ProgrammeTypeEnum.jsonld`),
      SocialProtectionFunctionEnum: either(`${IBR}/code/SocialProtectionFunctionEnum.jsonld`),
      AssistanceUnitEnum: either("core/v1/code/AssistanceUnit.jsonld"),
      SexCategoryEnum: either("core/v1/code/SexCategoryEnum.jsonld"),
    },
    aliases: {
      // Beneficiary.enrollment_status's range is spelt `EnrollementStatusEnum`; the code file is EnrollmentStatusEnum.
      EnrollementStatusEnum: "EnrollmentStatusEnum",
      // Beneficiary.assistance_unit names `spdcicore:AssistanceUnit`, core Group.group_type `AssistanceUnitEnum`.
      AssistanceUnit: "AssistanceUnitEnum",
      // Core Member.related_person's range is spelt `RelatePerson`.
      RelatePerson: "RelatedPerson",
      // IBR Member.demographic_info is an IBRPerson, a core Person without properties of its own.
      IBRPerson: "Person",
    },
    // Currency is a plain string datatype; identifier types and relationship codes are open lists.
    freeCodes: ["Currency", "IdentifierTypeEnum", "RelationshipTypeEnum"],
    checkRequired: true,
    notRequired: {
      // BenefitFrequency's required list is Benefit's, copied: a frequency has no benefit_type or benefit_date.
      BenefitFrequency: ["@context", "benefit_type", "benefit_date"],
      Programme: programmeNotRequired,
    },
  });
  return (record: unknown, cls: string, options?: CheckOptions) => v.validate(record, cls, options);
}

/** Errors of an IBR record against class `cls` (Beneficiary, Person, Group, Member, Programme, Benefit). */
export const checkIbr = ibrValidator([]);

/**
 * Errors of a programme declaration (a Programme record of its own): the class requires enrolment_date and
 * enrolment_status, which only a programme entry of a Beneficiary (an enrolment) has.
 */
export const checkProgrammeDeclaration = ibrValidator(["enrolment_date", "enrolment_status"]);
