/** The IBR code lists compiled into the binary equal the spdci code list files, code for code. */
import assert from "node:assert/strict";
import { codeList } from "../helpers/jsonld.ts";
import {
  ASSISTANCE_UNIT,
  BENEFIT_TYPE,
  codeLabel,
  type CodeList,
  CONTRIBUTION_TYPE,
  ENROLLMENT_STATUS,
  INSTITUTION,
  LEGAL_STATUS,
  PROGRAMME_TYPE,
  SP_FUNCTION,
} from "../../src/registries/ibr/codes.ts";

const IBR = "extensions/ibr/v1/code";
const FILES: Array<[CodeList, string]> = [
  [ASSISTANCE_UNIT, "core/v1/code/AssistanceUnit.jsonld"],
  [ENROLLMENT_STATUS, `${IBR}/EnrollmentStatusEnum.jsonld`],
  [BENEFIT_TYPE, `${IBR}/BenefitTypeEnum.jsonld`],
  [INSTITUTION, `${IBR}/InstitutionEnum.jsonld`],
  [LEGAL_STATUS, `${IBR}/LegalStatusEnum.jsonld`],
  [CONTRIBUTION_TYPE, `${IBR}/ContributionTypeEnum.jsonld`],
  [PROGRAMME_TYPE, `${IBR}/ProgrammeTypeEnum.jsonld`],
  [SP_FUNCTION, `${IBR}/SocialProtectionFunctionEnum.jsonld`],
];

Deno.test("IBR code lists: each compiled list equals its spdci file (code N is label N)", () => {
  for (const [list, file] of FILES) {
    const { codes, labels } = codeList(file);
    assert.deepEqual(codes, labels.map((_, i) => String(i + 1)), `${file}: codes are 1..N in order`);
    assert.deepEqual([...list.labels], labels, `${list.name} differs from ${file}`);
  }
});

Deno.test("codeLabel() reads a label, a code and a prefixed code, case-insensitively; refuses others", () => {
  assert.equal(codeLabel(ENROLLMENT_STATUS, "active"), "Active");
  assert.equal(codeLabel(ENROLLMENT_STATUS, "4"), "Suspended");
  assert.equal(codeLabel(ENROLLMENT_STATUS, 2), "Deceased");
  assert.equal(codeLabel(ENROLLMENT_STATUS, "benefit:3"), "Graduated");
  assert.equal(codeLabel(BENEFIT_TYPE, "in_kind"), "In-kind");
  assert.equal(codeLabel(BENEFIT_TYPE, "WORK-OPPORTUNITY"), "Work Opportunity");
  assert.equal(codeLabel(CONTRIBUTION_TYPE, "contributory - mandatory"), "Contributory – mandatory");
  assert.equal(codeLabel(ENROLLMENT_STATUS, "5"), undefined);
  assert.equal(codeLabel(ENROLLMENT_STATUS, "enrolled"), undefined);
  assert.equal(codeLabel(ENROLLMENT_STATUS, "x".repeat(1000)), undefined);
});
