/**
 * Readers of a farm's activities (FarmingActivities with its CropDetails and LivestockDetails) and of machinery,
 * and the list helpers the farm reader shares with them.
 */
import * as C from "./codes.ts";
import {
  compact,
  fail,
  fieldNames,
  type Fields,
  type Given,
  isObj,
  type Obj,
  pick,
  readBool,
  readCodes,
  readList,
  readNumber,
  readOneCode,
  readStamp,
  readText,
} from "./read.ts";
import type { Activities, Crop, Dated, Livestock, Machinery } from "./types.ts";

/** At most this many items in a list (crops, livestock, machinery). */
export const MAX_ITEMS = 50;
const COUNT = { min: 0, max: 1e9, integer: true };
/** The two dates every FR data object may carry. */
export const DATED: Fields = { registration_date: [], last_updated: [] };

/** FarmingActivities fields (and the names import files use). */
export const ACTIVITY_FIELDS: Fields = {
  crop_production: ["crops"],
  animal_production: ["livestock", "animals"],
  mixed_farming: [],
  agri_support_activities: [],
  aquaculture: ["aqua_culture"],
  aqua_support_activities: [],
  agroforestry: [],
  ...DATED,
};
/** FarmingActivities field names, compiled. */
export const ACTIVITIES = fieldNames(ACTIVITY_FIELDS);

const CROP = fieldNames({
  activity_group: ["activity"],
  crop_type_name: ["crop_type", "type"],
  variety: [],
  season: [],
  end_use: [],
  irrigation: ["irrigated"],
  irrigation_water: [],
  fertilizer_type: ["fertilizer", "fertiliser_type"],
  ...DATED,
});
const LIVESTOCK = fieldNames({
  type: ["animal_type", "livestock_type"],
  count: ["number", "head_count"],
  livestock_system: ["system"],
  ...DATED,
});
const MACHINERY = fieldNames({
  type: ["machinery_type"],
  count: ["number"],
  equipement_source: ["equipment_source", "source"],
  ...DATED,
});

/** The items of a list of objects with their paths (a non-object item is an error naming it). */
export function objects(v: unknown, path: string, max: number, errors: string[]): Array<[Obj, string]> {
  if (!Array.isArray(v) || v.length > max) {
    fail(errors, `${path}: expected a list of at most ${max} items`);
    return [];
  }
  const out: Array<[Obj, string]> = [];
  v.forEach((x, i) =>
    isObj(x) ? out.push([x, `${path}[${i}]`]) : fail(errors, `${path}[${i}]: expected an object`)
  );
  return out;
}

/**
 * A list of counted things (livestock, machinery): a list of objects, or, as an import file's one cell gives it,
 * `code=count;code=count` (`1=3;6=20`: three bovines, twenty poultry).
 */
export function countedOrObjects<T>(
  given: Given,
  errors: string[],
  read: (o: Obj, path: string, errors: string[]) => T,
): T[] {
  const path = given.path;
  if (typeof given.value !== "string") {
    return objects(given.value, path, MAX_ITEMS, errors).map(([o, p]) => read(o, p, errors));
  }
  return readList(given.value, path, MAX_ITEMS, errors).map((item, i) => {
    const [type, count] = String(item).split("=").map((s) => s.trim());
    return read(count === undefined ? { type } : { type, count }, `${path}[${i}]`, errors);
  });
}

/** The registration and update dates of a data object. */
export function dates(f: Map<string, Given>, errors: string[]): Dated {
  const reg = f.get("registration_date");
  const upd = f.get("last_updated");
  return {
    registration_date: reg && readStamp(reg.value, reg.path, errors),
    last_updated: upd && readStamp(upd.value, upd.path, errors),
  };
}

/** FarmingActivities from its fields (`withDates`: its own dates; false when they are the farm's). */
export function readActivities(f: Map<string, Given>, errors: string[], withDates = true): Activities {
  const crops = f.get("crop_production");
  const animals = f.get("animal_production");
  const mixed = f.get("mixed_farming");
  const agri = f.get("agri_support_activities");
  const aqua = f.get("aquaculture");
  const aquaSupport = f.get("aqua_support_activities");
  const forest = f.get("agroforestry");
  return compact<Activities>({
    crop_production: crops &&
      (typeof crops.value === "string"
        ? readList(crops.value, crops.path, MAX_ITEMS, errors)
          .map((t, i) => crop({ crop_type_name: t }, `${crops.path}[${i}]`, errors))
        : objects(crops.value, crops.path, MAX_ITEMS, errors).map(([o, p]) => crop(o, p, errors))),
    animal_production: animals &&
      countedOrObjects(animals, errors, livestock),
    mixed_farming: mixed && readBool(mixed.value, mixed.path, errors),
    agri_support_activities: agri &&
      readCodes(
        agri.value,
        agri.path,
        { list: C.AGRI_SUPPORT_ACTIVITY, name: "AgriSupportActivityEnum" },
        errors,
      ),
    aquaculture: aqua &&
      readCodes(aqua.value, aqua.path, { list: C.AQUACULTURE, name: "AquaCultureEnum" }, errors),
    aqua_support_activities: aquaSupport && readOneCode(aquaSupport.value, aquaSupport.path, {
      list: C.AQUA_SUPPORT_ACTIVITY,
      name: "AquaSupportActivityEnum",
    }, errors),
    agroforestry: forest &&
      readCodes(forest.value, forest.path, { list: C.FOREST_ACTIVITY, name: "ForestActivityEnum" }, errors),
    ...(withDates ? dates(f, errors) : {}),
  });
}

function crop(o: Obj, path: string, errors: string[]): Crop {
  const f = pick(o, path, CROP, errors);
  const [activity, type, variety, season, use, irrigation, water, fert] = [
    "activity_group",
    "crop_type_name",
    "variety",
    "season",
    "end_use",
    "irrigation",
    "irrigation_water",
    "fertilizer_type",
  ].map((name) => f.get(name));
  return compact<Crop>({
    activity_group: activity &&
      readOneCode(activity.value, activity.path, { list: C.CROP_ACTIVITY, name: "CropActivityEnum" }, errors),
    crop_type_name: type &&
      readOneCode(type.value, type.path, { list: C.CROP_TYPE, name: "CropTypeEnum" }, errors),
    variety: variety && readText(variety.value, variety.path, 128, errors),
    season: season && readText(season.value, season.path, 64, errors),
    end_use: use &&
      readOneCode(use.value, use.path, { list: C.CROP_END_USE, name: "CropEnduseEnum" }, errors),
    irrigation: irrigation && readBool(irrigation.value, irrigation.path, errors),
    irrigation_water: water &&
      readCodes(water.value, water.path, { list: C.IRRIGATION_WATER, name: "IrrigationWaterEnum" }, errors),
    fertilizer_type: fert &&
      readCodes(fert.value, fert.path, { list: C.FERTILIZER_TYPE, name: "FertilizerTypeEnum" }, errors),
    ...dates(f, errors),
  });
}

function livestock(o: Obj, path: string, errors: string[]): Livestock {
  const f = pick(o, path, LIVESTOCK, errors);
  const type = f.get("type");
  const count = f.get("count");
  const system = f.get("livestock_system");
  return compact<Livestock>({
    type: type &&
      readOneCode(type.value, type.path, { list: C.ANIMALS, name: "AnimalsEnum" }, errors),
    count: count && readNumber(count.value, count.path, COUNT, errors),
    livestock_system: system && readOneCode(system.value, system.path, {
      list: C.LIVESTOCK_SYSTEM,
      name: "LivestockSystemEnum",
    }, errors),
    ...dates(f, errors),
  });
}

/** One machinery item. */
export function machinery(o: Obj, path: string, errors: string[]): Machinery {
  const f = pick(o, path, MACHINERY, errors);
  const type = f.get("type");
  const count = f.get("count");
  const source = f.get("equipement_source");
  return compact<Machinery>({
    type: type &&
      readOneCode(
        type.value,
        type.path,
        { list: C.MACHINERIES, name: "MachineriesEnum" },
        errors,
      ),
    count: count && readNumber(count.value, count.path, COUNT, errors),
    equipement_source: source && readOneCode(source.value, source.path, {
      list: C.EQUIPMENT_SOURCE,
      name: "EquipmentSource",
    }, errors),
    ...dates(f, errors),
  });
}
