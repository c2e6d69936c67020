/**
 * The farmer registry's searchable attributes (beside the core ones: names, sex, dates, identifiers, address
 * region and locality). Each is extracted from a farmer's details into the indexed `registrant_values` table.
 * Code-valued attributes hold the code-list code (`crop_type eq "1"`: cereals; see codes.ts for the lists).
 */
import type { Registrant } from "../../registry/model.ts";
import type { ProfileAttribute } from "../profile.ts";
import {
  ANIMALS,
  type CodeList,
  CROP_TYPE,
  FARM_TYPE,
  HECTARES_PER_UNIT,
  LAND_TENURE,
  MACHINERIES,
  readCode,
} from "./codes.ts";
import type { Farm, FarmerDetails } from "./types.ts";

/** Storage record type of a farmer. */
export const FR_PERSON = "fr_person";
/** Storage record type of a farm household or farmer group. */
export const FR_GROUP = "fr_group";

const ON = [FR_PERSON] as const;

function farms(reg: Registrant): Farm[] {
  return (reg.details as FarmerDetails | undefined)?.farm_details ?? [];
}

/** A query value of a code-valued attribute: a code, prefixed code or label of `list` → its code. */
function code(list: CodeList): (raw: unknown) => string | undefined {
  return (raw) => readCode(list, raw);
}

/** Distinct non-empty values. */
function distinct(values: Array<string | number | undefined>): Array<string | number> {
  return [...new Set(values.filter((v): v is string | number => v !== undefined && v !== ""))];
}

/** The farmer's total land in hectares (each farm converted from its unit; hectares when it names none). */
export function totalHectares(reg: Registrant): number | undefined {
  const sized = farms(reg).filter((f) => f.land_size !== undefined);
  if (!sized.length) return undefined;
  const ha = sized.reduce((sum, f) => sum + f.land_size! * HECTARES_PER_UNIT[f.measurment ?? "0"], 0);
  return Math.round(ha * 1e6) / 1e6;
}

/** The farmer registry's attributes. */
export const FR_ATTRIBUTES: readonly ProfileAttribute[] = [
  {
    name: "farm_type",
    kind: "text",
    normalise: code(FARM_TYPE),
    on: ON,
    values: (reg) => distinct([(reg.details as FarmerDetails | undefined)?.farm_type]),
    description: "FarmTypeEnum code of the farmer (1 small subsistence-oriented ... 6 commercial estate)",
  },
  {
    name: "land_size",
    aliases: ["land_size_ha", "farm_size", "land_area"],
    kind: "number",
    on: ON,
    values: (reg) => distinct([totalHectares(reg)]),
    description: "the farmer's total land in hectares, every farm converted from its measurement unit",
  },
  {
    name: "land_tenure",
    aliases: ["tenure"],
    kind: "text",
    normalise: code(LAND_TENURE),
    on: ON,
    values: (reg) => distinct(farms(reg).map((f) => f.land_tenure)),
    description: "LandTenureEnum code of any of the farmer's farms (1 owner, 3 leased, 5 sharecropping, ...)",
  },
  {
    name: "crop_type",
    aliases: ["crop_type_name", "crop"],
    kind: "text",
    normalise: code(CROP_TYPE),
    on: ON,
    values: (reg) =>
      distinct(
        farms(reg).flatMap((f) => f.farming_activities?.crop_production?.map((c) => c.crop_type_name) ?? []),
      ),
    description: "CropTypeEnum code of any crop the farmer grows (1 cereals, 2 vegetables and melons, ...)",
  },
  {
    name: "livestock_type",
    aliases: ["animal_type", "livestock", "animal"],
    kind: "text",
    normalise: code(ANIMALS),
    on: ON,
    values: (reg) =>
      distinct(farms(reg).flatMap((f) => f.farming_activities?.animal_production?.map((a) => a.type) ?? [])),
    description:
      "AnimalsEnum code of any livestock the farmer keeps (1 bovine, 2 sheep and goats, 6 poultry, ...)",
  },
  {
    name: "livestock_count",
    aliases: ["animal_count"],
    kind: "number",
    on: ON,
    values: (reg) => {
      const counts = farms(reg).flatMap((f) =>
        f.farming_activities?.animal_production?.map((a) => a.count) ?? []
      );
      return counts.some((c) => c !== undefined) ? [counts.reduce<number>((s, c) => s + (c ?? 0), 0)] : [];
    },
    description: "the number of animals the farmer keeps, all farms and kinds together",
  },
  {
    name: "machinery_type",
    aliases: ["machinery"],
    kind: "text",
    normalise: code(MACHINERIES),
    on: ON,
    values: (reg) =>
      distinct((reg.details as FarmerDetails | undefined)?.machineries_details?.map((m) => m.type) ?? []),
    description: "MachineriesEnum code of any machinery the farmer uses (10 manual, 32 tractors, ...)",
  },
  {
    name: "farm_region",
    aliases: ["farm_region_code", "farm_info.location.region"],
    kind: "text",
    on: ON,
    values: (reg) => distinct(farms(reg).map((f) => f.location?.region_code)),
    description: "region code of any of the farmer's farms (the locations API's codes)",
  },
  {
    name: "farm_locality",
    aliases: ["farm_info.location.locality"],
    kind: "text",
    on: ON,
    values: (reg) => distinct(farms(reg).map((f) => f.location?.locality)),
    description: "locality of any of the farmer's farms (the locations API's codes)",
  },
  {
    name: "farm_latitude",
    aliases: ["farm_info.location.geo.latitude", "farm_details.location.geo.latitude"],
    kind: "number",
    on: ON,
    values: (reg) => distinct(farms(reg).map((f) => f.location?.latitude)),
    description: "latitude of any of the farmer's farms (the FR spec's example query)",
  },
  {
    name: "farm_longitude",
    aliases: ["farm_info.location.geo.longitude", "farm_details.location.geo.longitude"],
    kind: "number",
    on: ON,
    values: (reg) => distinct(farms(reg).map((f) => f.location?.longitude)),
    description: "longitude of any of the farmer's farms (the FR spec's example query)",
  },
];
