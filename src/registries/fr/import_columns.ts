/**
 * The farmer registry's CSV columns beside the core ones (id, names, sex, dates, address, identifiers, group_id,
 * ...): one farm per row (`details.farm`, the reader's single-farm form); lists in one cell separated by `;` or `|`;
 * codes or code-list labels wherever a code is expected. JSON and NDJSON files take the record shape directly
 * (`details.farm_details[]`, ...).
 */
import type { ImportColumn } from "../profile.ts";

/** CSV header → input record path, with what the cell holds. */
export const FR_IMPORT_COLUMNS: readonly ImportColumn[] = [
  { column: "farm_type", path: "details.farm_type", description: "FarmTypeEnum code or label (1..6)" },
  { column: "farm_name", path: "details.farm.location.name", description: "the farm's name" },
  {
    column: "farm_region",
    path: "details.farm.location.region_code",
    description: "region code of the farm (locations API)",
  },
  {
    column: "farm_locality",
    path: "details.farm.location.locality",
    description: "locality of the farm (locations API)",
  },
  { column: "farm_latitude", path: "details.farm.location.latitude", description: "WGS 84 latitude" },
  { column: "farm_longitude", path: "details.farm.location.longitude", description: "WGS 84 longitude" },
  { column: "land_size", path: "details.farm.land_size", description: "land size, in land_unit" },
  {
    column: "land_unit",
    path: "details.farm.measurement_unit",
    description:
      "MeasurmentUnitEnum code or abbreviation (0/H hectares, default; 1/AC acres; 2/SQM; 6/DU ...)",
  },
  {
    column: "land_tenure",
    path: "details.farm.land_tenure",
    description: "LandTenureEnum code or label (1..7)",
  },
  {
    column: "crops",
    path: "details.farm.crops",
    description: "crop types grown, CropTypeEnum codes or labels separated by ';' or '|' (e.g. 1;7)",
  },
  {
    column: "livestock",
    path: "details.farm.livestock",
    description: "animals kept as AnimalsEnum code=count separated by ';' or '|' (e.g. 1=3;6=20)",
  },
  { column: "mixed_farming", path: "details.farm.mixed_farming", description: "true/false (yes/no, 1/0)" },
  {
    column: "machinery",
    path: "details.machineries",
    description: "machinery as MachineriesEnum code=count separated by ';' or '|' (e.g. 10=4;32=1)",
  },
];
