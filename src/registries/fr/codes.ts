/**
 * The farmer registry's code directories (spdci-schemas/extensions/fr/v1/code/*.jsonld), code → label. Records
 * carry the code (`"1"`, as the code list's `type:1` without its prefix, the way social records carry `male` for
 * `sex:male`); input may give the code, a prefixed code (`type:1`, `ns:org:CropTypeEnum:1`) or the label in any
 * case and punctuation (`Cereals`, `small_subsistence_oriented_farms`).
 *
 * Two code files are defective and are read here as the published code directory (gitbook CD.FR.03, CD.FR.13)
 * lists them: LandTenureEnum gives `type:1` to both "Owner" and "Non-legal ownership" (its `owl:oneOf` lists
 * 1..7: the codes shift by one after Owner), and EquipmentSource gives `source:4` to both "other private holders"
 * and "government agency" (its `owl:oneOf` lists 1..7: government agency is 7).
 */

/** A code list: code → label. */
export type CodeList = Readonly<Record<string, string>>;

/** CD.FR.05 FarmTypeEnum. */
export const FARM_TYPE: CodeList = {
  "1": "Small subsistence-oriented farms",
  "2": "Small semi-subsistence or part-commercial farms",
  "3": "Small independent specialized farms",
  "4": "Small dependent specialized farms",
  "5": "Large commercial farms",
  "6": "Commercial estates",
};

/** CD.FR.03 LandTenureEnum (codes as the code directory numbers them, see above). */
export const LAND_TENURE: CodeList = {
  "1": "Owner",
  "2": "Non-legal ownership/Squatting illegally on land",
  "3": "Leased (Rented from someone else)",
  "4": "Adverse possession or prescription",
  "5": "Sharecropping",
  "6": "Inheritance",
  "7": "Holdings without land",
};

/** CD.FR.04 MeasurmentUnitEnum (labels are the unit abbreviations). */
export const MEASUREMENT_UNIT: CodeList = {
  "0": "H",
  "1": "AC",
  "2": "SQM",
  "3": "SQKM",
  "4": "SQF",
  "5": "SQY",
  "6": "DU",
};

/** Hectares per unit of MEASUREMENT_UNIT (a dunam is the metric 1,000 m²). */
export const HECTARES_PER_UNIT: Readonly<Record<string, number>> = {
  "0": 1,
  "1": 0.40468564224,
  "2": 0.0001,
  "3": 100,
  "4": 0.09290304e-4,
  "5": 0.83612736e-4,
  "6": 0.1,
};

/** Unit names clients write beside the code list's abbreviations. */
export const MEASUREMENT_ALIASES: Readonly<Record<string, string>> = {
  ha: "0",
  hectar: "0",
  hectare: "0",
  hectares: "0",
  acre: "1",
  acres: "1",
  m2: "2",
  square_meter: "2",
  square_metre: "2",
  km2: "3",
  square_kilometer: "3",
  square_foot: "4",
  square_feet: "4",
  square_yard: "5",
  dunam: "6",
  dunum: "6",
};

/** CD.FR.01 CropTypeEnum. */
export const CROP_TYPE: CodeList = {
  "1": "Cereals",
  "2": "Vegetables and melons",
  "3": "Fruit and nuts",
  "4": "Oilseed crops and oleaginous fruits",
  "5": "Root/tuber crops with high starch or inulin content",
  "6": "Stimulant, spice and aromatic crops",
  "7": "Leguminous crops",
  "8": "Sugar crops",
  "9": "Other crops",
};

/** CD.FR.15 CropActivityEnum (`activity:011` ...). */
export const CROP_ACTIVITY: CodeList = {
  "011": "Non-perennial crops",
  "012": "Perennial crops",
  "013": "Plant propagation",
};

/** CD.FR.02 CropEnduseEnum. */
export const CROP_END_USE: CodeList = {
  "1": "Food for human consumption",
  "2": "Feed for animals",
  "3": "Biofuels or non-food products",
  "4": "Other uses",
};

/** CD.FR.14 IrrigationWaterEnum. */
export const IRRIGATION_WATER: CodeList = {
  "1": "Surface water",
  "2": "Groundwater",
  "3": "Mixed surface water and groundwater",
  "4": "Municipal water supply",
  "5": "Treated or not-treated wastewater",
  "6": "Agricultural drainage water",
  "7": "Desalinated water",
  "8": "other",
};

/** CD.FR.11 FertilizerTypeEnum. */
export const FERTILIZER_TYPE: CodeList = {
  "1": "Mineral fertilizers",
  "2": "Organo-mineral fertilizers",
  "3": "Organic fertilizers",
  "4": "Biofertilizers",
  "5": "Manure",
  "6": "Other organic materials to enhance plant growth",
};

/** CD.FR.07 AnimalsEnum. */
export const ANIMALS: CodeList = {
  "1": "Bovine animals",
  "2": "Sheep and goats",
  "3": "Swine/pigs",
  "4": "Equines",
  "5": "Camels and camelids",
  "6": "poultry",
  "7": "other animals",
  "8": "Insects and worms",
};

/** CD.FR.12 LivestockSystemEnum. */
export const LIVESTOCK_SYSTEM: CodeList = {
  "1": "Grazing system - Nomadic or totally pastoral",
  "2": "Grazing system - Semi-nomadic, semi-pastoral or transhumant",
  "3": "Grazing system - Sedentary pastoral or ranching",
  "4": "Mixed system",
  "5": "Industrial system",
};

/** CD.FR.09 AgriSupportActivityEnum. */
export const AGRI_SUPPORT_ACTIVITY: CodeList = {
  "161": "Support activities for crop production",
  "162": "Support activities for animal production",
  "163": "Post-harvest crop activities",
  "164": "Seed processing for propagation",
};

/** CD.FR.08 AquaCultureEnum. */
export const AQUACULTURE: CodeList = {
  "0321": "Marine aquaculture",
  "0322": "Freshwater aquaculture",
};

/** CD.FR.10 AquaSupportActivityEnum. */
export const AQUA_SUPPORT_ACTIVITY: CodeList = {
  "0330": "Support activities for fishing and aquaculture",
};

/** CD.FR.16 ForestActivityEnum. */
export const FOREST_ACTIVITY: CodeList = {
  "1": "Logging",
  "2": "Afforestation (planting trees)",
  "3": "Reforestation (replanting trees)",
  "4": "Nursery (cultivating seedlings for afforestation or reforestation)",
  "5": "Extraction of fuelwood and production of charcoal",
  "6": "Gathering of plant-based edible and non-edible wild non-wood products",
  "7": "Gathering of animal-based edible and non-edible wild non-wood products",
};

/** CD.FR.06 MachineriesEnum. */
export const MACHINERIES: CodeList = {
  "10": "Manually operated machines",
  "20": "Animal-powered equipment",
  "31": "Machines for general farm use",
  "32": "Tractors, bulldozers and other vehicles",
  "33": "Crop machinery and equipment",
  "34": "Livestock machinery and equipment",
  "35": "Aquacultural machinery and equipment",
  "36": "Forestry machinery and equipment",
  "37": "Unmanned Aerial vehicle and robots",
};

/** CD.FR.13 EquipmentSource (codes as the code directory numbers them, see above). */
export const EQUIPMENT_SOURCE: CodeList = {
  "1": "Owned solely by the farmer or members of the farmer's household",
  "2": "Owned by the farmer jointly with other farmers",
  "3": "Provided by the landlord",
  "4": "Provided by other private holders (excluding cooperatives)",
  "5": "Provided by a cooperative",
  "6": "Provided by a private agricultural service establishment",
  "7": "Provided by a government agency",
};

/** A label as compared: lower case, letters and digits only, single spaces (`Swine/pigs` → `swine pigs`). */
function labelKey(s: string): string {
  return s.toLowerCase().replace(/[’']/g, "").replace(/[^a-z0-9]+/g, " ").trim();
}

const BY_LABEL = new WeakMap<CodeList, Map<string, string>>();

function labelIndex(list: CodeList): Map<string, string> {
  let index = BY_LABEL.get(list);
  if (!index) {
    index = new Map(Object.entries(list).map(([code, label]) => [labelKey(label), code]));
    BY_LABEL.set(list, index);
  }
  return index;
}

/**
 * The code of `raw` in `list`: a code (string or number), a prefixed code (the last `:` segment), or a label;
 * undefined when it is none of them. `aliases` maps extra label keys (lower case, `_` for spaces) to codes.
 */
export function readCode(
  list: CodeList,
  raw: unknown,
  aliases?: Readonly<Record<string, string>>,
): string | undefined {
  if (typeof raw === "string" && Object.hasOwn(list, raw)) return raw; // the stored form: most input is
  const text = typeof raw === "number" && Number.isInteger(raw) && raw >= 0
    ? String(raw)
    : typeof raw === "string" && raw.length <= 200
    ? raw.trim()
    : undefined;
  if (!text) return undefined;
  const last = text.split(":").pop()!.trim();
  if (Object.hasOwn(list, last)) return last;
  // Codes compare exactly: "321" is not "0321" (AquaCultureEnum codes are zero-padded ISIC classes).
  const key = labelKey(text);
  const byLabel = labelIndex(list).get(key);
  if (byLabel !== undefined) return byLabel;
  const alias = key.replaceAll(" ", "_");
  return aliases && Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
}
