/**
 * Reads the farmer registry's part of an input record (`details`): farm type, farms (FarmInfo with its
 * FarmingActivities: crops, livestock, ...) and machinery. Input may use the class property names or the shorter
 * ones import files use (`farms`, `crops`, `livestock`, `machineries`, `crop_type`, `measurement_unit`; `farm` for
 * a single farm). Every unknown field is refused, naming it.
 */
import * as C from "./codes.ts";
import {
  compact,
  fail,
  fieldNames,
  type Fields,
  isObj,
  type Obj,
  pick,
  readNumber,
  readOneCode,
  readText,
} from "./read.ts";
import {
  ACTIVITIES,
  ACTIVITY_FIELDS,
  countedOrObjects,
  DATED,
  dates,
  machinery,
  objects,
  readActivities,
} from "./activities.ts";
import type { Activities, Farm, FarmerDetails, FarmLocation } from "./types.ts";

const MAX_FARMS = 20;

const DETAILS = fieldNames({
  farm_type: [],
  farm_details: ["farms", "farm"],
  machineries_details: ["machineries", "machinery"],
});
const FARM: Fields = {
  location: ["place", "farm_location"],
  land_tenure: ["tenure"],
  land_size: ["size", "area"],
  measurment: ["measurement_unit", "measurement", "unit", "land_unit"],
  farming_activities: [],
  ...DATED,
};
/** A farm's own fields and, beside them, its activities' (the flat form). */
const FARM_AND_ACTIVITIES = fieldNames(FARM, ACTIVITY_FIELDS);
const GEO = fieldNames({ latitude: ["lat"], longitude: ["lon", "lng"] });

const LOCATION = fieldNames({
  name: [],
  address_line: ["address"],
  locality: ["city"],
  region_code: ["region"],
  latitude: ["lat"],
  longitude: ["lon", "lng"],
  geo: [],
});
/** Reads `raw.details` of an input farmer record; undefined when it has none. */
export function readFarmerDetails(raw: Obj, errors: string[]): FarmerDetails | undefined {
  const d = raw.details;
  if (d === undefined || d === null) return undefined;
  if (!isObj(d)) return void fail(errors, "details: expected an object");
  const f = pick(d, "details", DETAILS, errors);
  const farmType = f.get("farm_type");
  const farms = f.get("farm_details");
  const machines = f.get("machineries_details");
  const out = compact<FarmerDetails>({
    farm_type: farmType &&
      readOneCode(farmType.value, "details.farm_type", { list: C.FARM_TYPE, name: "FarmTypeEnum" }, errors),
    farm_details: farms &&
      (isObj(farms.value)
        ? [farm(farms.value, farms.path, errors)]
        : objects(farms.value, farms.path, MAX_FARMS, errors).map(([o, p]) => farm(o, p, errors))),
    machineries_details: machines && countedOrObjects(machines, errors, machinery),
  });
  return Object.keys(out).length ? out : undefined;
}

function farm(o: Obj, path: string, errors: string[]): Farm {
  const f = pick(o, path, FARM_AND_ACTIVITIES, errors);
  const flat = new Map(
    [...f].filter(([name]) => Object.hasOwn(ACTIVITY_FIELDS, name) && !Object.hasOwn(DATED, name)),
  );
  const nested = f.get("farming_activities");
  let activities: Activities | undefined;
  if (nested && flat.size) {
    fail(errors, `${path}: give the activities either in farming_activities or beside it, not both`);
  } else if (nested) {
    activities = isObj(nested.value)
      ? readActivities(pick(nested.value, nested.path, ACTIVITIES, errors), errors)
      : void fail(errors, `${nested.path}: expected an object`);
  } else if (flat.size) activities = readActivities(flat, errors, false);
  const tenure = f.get("land_tenure");
  const size = f.get("land_size");
  const unit = f.get("measurment");
  const loc = f.get("location");
  return compact<Farm>({
    location: loc && location(loc.value, loc.path, errors),
    land_tenure: tenure &&
      readOneCode(tenure.value, tenure.path, { list: C.LAND_TENURE, name: "LandTenureEnum" }, errors),
    land_size: size && readNumber(size.value, size.path, { min: 0, max: 1e8 }, errors),
    measurment: unit && readOneCode(unit.value, unit.path, {
      list: C.MEASUREMENT_UNIT,
      name: "MeasurmentUnitEnum",
      aliases: C.MEASUREMENT_ALIASES,
    }, errors),
    farming_activities: activities && Object.keys(activities).length ? activities : undefined,
    ...dates(f, errors),
  });
}

function location(v: unknown, path: string, errors: string[]): FarmLocation | undefined {
  if (!isObj(v)) return void fail(errors, `${path}: expected an object`);
  const f = pick(v, path, LOCATION, errors);
  const text = (name: string, max = 256) => {
    const g = f.get(name);
    return g && readText(g.value, g.path, max, errors);
  };
  const geo = f.get("geo");
  const g = geo &&
    (isObj(geo.value)
      ? pick(geo.value, `${path}.geo`, GEO, errors)
      : void fail(errors, `${path}.geo: expected an object`));
  const coord = (name: "latitude" | "longitude", max: number) => {
    const given = f.get(name) ?? g?.get(name);
    return given && readNumber(given.value, given.path, { min: -max, max }, errors);
  };
  if (f.has("geo") && (f.has("latitude") || f.has("longitude"))) {
    fail(errors, `${path}: give the coordinates either in geo or beside it, not both`);
  }
  return compact<FarmLocation>({
    name: text("name"),
    address_line: text("address_line"),
    locality: text("locality", 128),
    region_code: text("region_code", 128),
    latitude: coord("latitude", 90),
    longitude: coord("longitude", 180),
  });
}
