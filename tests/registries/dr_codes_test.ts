/** The DR code lists: the same as the spdci-schemas files, read from labels, ids and id suffixes. */
import assert from "node:assert/strict";
import { codeLabel, CODES, labels } from "../../src/registries/dr/codes.ts";
import { relationshipCode } from "../../src/registries/dr/relationship.ts";
import { loadSchema } from "../helpers/jsonld.ts";

Deno.test("DR CODES hold every code of each spdci-schemas code list file, with its label, in order", () => {
  for (const list of Object.values(CODES)) {
    const graph = loadSchema(list.file)["@graph"] as Array<Record<string, unknown>>;
    const [cls, ...entries] = graph;
    assert.deepEqual(labels(list), entries.map((e) => e["rdfs:label"]), list.name);
    const oneOf = cls["owl:oneOf"] as string[];
    list.codes.forEach((code, i) => {
      assert.equal(code.ids[0], oneOf[i], `${list.name}: owl:oneOf id first`);
      assert.ok(code.ids.includes(String(entries[i]["@id"])), `${list.name}: entry id ${entries[i]["@id"]}`);
    });
  }
});

Deno.test("codeLabel() reads a label, a full id or a word suffix in any case and spacing", () => {
  assert.equal(codeLabel(CODES.DisabilityStatusEnum, "approved"), "Approved");
  assert.equal(codeLabel(CODES.DisabilityStatusEnum, "status:1"), "Pending");
  assert.equal(codeLabel(CODES.ImpairmentCause, "WORK_ACCIDENT"), "Work accident");
  assert.equal(codeLabel(CODES.ImpairmentCause, "category:5"), "Work accident");
  assert.equal(codeLabel(CODES.ImpairmentCause, "case:5"), "Work accident");
  assert.equal(codeLabel(CODES.AnimalAssistanceEnum, "service_dog"), "Service Dog");
  assert.equal(codeLabel(CODES.HousingSupportEnum, "assistance:relocation"), "Relocation");
  assert.equal(codeLabel(CODES.HumanAssistanceType, " Decision-Making "), "Decision Making");
});

Deno.test("codeLabel() refuses a numeric suffix alone, another list's code, non-strings and long strings", () => {
  assert.equal(codeLabel(CODES.DisabilityLevelEnum, "2"), undefined);
  assert.equal(codeLabel(CODES.DisabilityStatusEnum, "Severe"), undefined);
  assert.equal(codeLabel(CODES.DisabilityStatusEnum, 0), undefined);
  assert.equal(codeLabel(CODES.DisabilityStatusEnum, "a".repeat(129)), undefined);
  assert.equal(codeLabel(CODES.ImpairmentType, "Physical and movement related functions"), undefined);
});

Deno.test("relationshipCode() reads a RelationshipTypeEnum code or label in any case", () => {
  assert.equal(relationshipCode("prn"), "PRN");
  assert.equal(relationshipCode("Parent"), "PRN");
  assert.equal(relationshipCode("category:SPS"), "SPS");
  assert.equal(relationshipCode("neighbour"), undefined);
  const file = loadSchema("core/v1/code/RelationshipTypeEnum.jsonld")["@graph"][0]["owl:oneOf"] as string[];
  for (const id of file) assert.equal(relationshipCode(id), id.split(":")[1]);
});
