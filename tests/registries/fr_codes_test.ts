/** The farmer registry's code lists against the spdci code files, and how input codes and labels are read. */
import assert from "node:assert/strict";
import * as C from "../../src/registries/fr/codes.ts";
import { codeListCodes, codeListLabels } from "../helpers/jsonld.ts";

const DIR = "extensions/fr/v1/code/";
const LISTS: Array<[C.CodeList, string]> = [
  [C.FARM_TYPE, "FarmTypeEnum"],
  [C.LAND_TENURE, "LandTenureEnum"],
  [C.MEASUREMENT_UNIT, "MeasurmentUnitEnum"],
  [C.CROP_TYPE, "CropTypeEnum"],
  [C.CROP_ACTIVITY, "CropActivityEnum"],
  [C.CROP_END_USE, "CropEnduseEnum"],
  [C.IRRIGATION_WATER, "IrrigationWaterEnum"],
  [C.FERTILIZER_TYPE, "FertilizerTypeEnum"],
  [C.ANIMALS, "AnimalsEnum"],
  [C.LIVESTOCK_SYSTEM, "LivestockSystemEnum"],
  [C.AGRI_SUPPORT_ACTIVITY, "AgriSupportActivityEnum"],
  [C.AQUACULTURE, "AquaCultureEnum"],
  [C.AQUA_SUPPORT_ACTIVITY, "AquaSupportActivityEnum"],
  [C.FOREST_ACTIVITY, "ForestActivityEnum"],
  [C.MACHINERIES, "MachineriesEnum"],
  [C.EQUIPMENT_SOURCE, "EquipmentSource"],
];

/** Labels as compared: letters and digits only. */
function key(s: string): string {
  return s.toLowerCase().replace(/[’']/g, "").replace(/[^a-z0-9]+/g, " ").trim();
}

Deno.test("fr code lists hold exactly the codes of the spdci code files", () => {
  for (const [list, file] of LISTS) {
    assert.deepEqual(Object.keys(list).sort(), codeListCodes(`${DIR}${file}.jsonld`).sort(), file);
  }
});

Deno.test("fr code labels are the code files' labels, except the two duplicated ids the code directory renumbers", () => {
  for (const [list, file] of LISTS) {
    const labels = codeListLabels(`${DIR}${file}.jsonld`);
    for (const [code, label] of labels) {
      if (file === "LandTenureEnum" && code !== "1") {
        // The file's second "type:1" (non-legal ownership) is code 2 in CD.FR.03: every later code is one higher.
        assert.equal(key(list[String(Number(code) + 1)]).startsWith(key(label)), true, `${file} ${code}`);
      } else if (file === "EquipmentSource" && code === "4") {
        assert.equal(key(list["4"]), key(label), `${file} ${code}`); // the first "source:4"; the second is 7
      } else assert.equal(key(list[code]).startsWith(key(label)), true, `${file} ${code}: ${label}`);
    }
  }
  assert.equal(C.LAND_TENURE["2"], "Non-legal ownership/Squatting illegally on land");
  assert.equal(C.EQUIPMENT_SOURCE["7"], "Provided by a government agency");
});

Deno.test("readCode() takes a code, a prefixed code, a number or a label, and refuses anything else", () => {
  assert.equal(C.readCode(C.CROP_TYPE, "1"), "1");
  assert.equal(C.readCode(C.CROP_TYPE, 7), "7");
  assert.equal(C.readCode(C.CROP_TYPE, "type:3"), "3");
  assert.equal(C.readCode(C.CROP_TYPE, "ns:org:CropTypeEnum:8"), "8");
  assert.equal(C.readCode(C.CROP_TYPE, "CEREALS"), "1");
  assert.equal(C.readCode(C.FARM_TYPE, "small_subsistence-oriented_farms"), "1");
  assert.equal(C.readCode(C.ANIMALS, "Swine / Pigs"), "3");
  assert.equal(C.readCode(C.MEASUREMENT_UNIT, "hectares", C.MEASUREMENT_ALIASES), "0");
  assert.equal(C.readCode(C.MEASUREMENT_UNIT, "AC"), "1");
  assert.equal(C.readCode(C.AQUACULTURE, "321"), undefined, "codes compare exactly");
  assert.equal(C.readCode(C.CROP_TYPE, "10"), undefined);
  assert.equal(C.readCode(C.CROP_TYPE, "Marine aquafarming"), undefined);
  assert.equal(C.readCode(C.CROP_TYPE, -1), undefined);
  assert.equal(C.readCode(C.CROP_TYPE, 1.5), undefined);
  assert.equal(C.readCode(C.CROP_TYPE, { code: "1" }), undefined);
  assert.equal(C.readCode(C.CROP_TYPE, "x".repeat(10_000)), undefined);
});

Deno.test("HECTARES_PER_UNIT converts every measurement unit", () => {
  assert.deepEqual(Object.keys(C.HECTARES_PER_UNIT).sort(), Object.keys(C.MEASUREMENT_UNIT).sort());
  assert.equal(C.HECTARES_PER_UNIT["3"], 100);
  assert.ok(Math.abs(C.HECTARES_PER_UNIT["1"] - 0.4047) < 1e-4);
  assert.ok(Math.abs(C.HECTARES_PER_UNIT["4"] * 107_639.1 - 1) < 1e-4, "a hectare is 107,639 square feet");
  assert.ok(Math.abs(C.HECTARES_PER_UNIT["5"] * 11_959.9 - 1) < 1e-4, "a hectare is 11,960 square yards");
});
