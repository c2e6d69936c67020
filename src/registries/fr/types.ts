/**
 * The farmer registry's part of a record (`Registrant.details` of an `fr_person`), stored under the spdci class
 * property names (extensions/fr/v1/data) so that the JSON-LD mapping is a direct one. Codes are code-list codes.
 */

/** Where a farm is (spdci Place, with the region and locality codes of the locations API). */
export interface FarmLocation {
  name?: string;
  address_line?: string;
  locality?: string;
  region_code?: string;
  latitude?: number;
  longitude?: number;
}

/** Dates every FR data object may carry (ISO 8601 UTC). */
export interface Dated {
  registration_date?: string;
  last_updated?: string;
}

/** spdci CropDetails. */
export interface Crop extends Dated {
  activity_group?: string;
  crop_type_name?: string;
  variety?: string;
  season?: string;
  end_use?: string;
  irrigation?: boolean;
  irrigation_water?: string[];
  fertilizer_type?: string[];
}

/** spdci LivestockDetails (class `Animals`). */
export interface Livestock extends Dated {
  type?: string;
  count?: number;
  livestock_system?: string;
}

/** spdci FarmingActivities. */
export interface Activities extends Dated {
  crop_production?: Crop[];
  animal_production?: Livestock[];
  mixed_farming?: boolean;
  agri_support_activities?: string[];
  aquaculture?: string[];
  aqua_support_activities?: string;
  agroforestry?: string[];
}

/** spdci FarmInfo. */
export interface Farm extends Dated {
  location?: FarmLocation;
  land_tenure?: string;
  land_size?: number;
  /** MeasurmentUnitEnum code (the class spells it `measurment`); hectares when absent. */
  measurment?: string;
  farming_activities?: Activities;
}

/** spdci Machineries. */
export interface Machinery extends Dated {
  type?: string;
  count?: number;
  equipement_source?: string;
}

/** The stored details of a farmer (a type, not an interface: it is a `Json` object for the profile). */
export type FarmerDetails = {
  farm_type?: string;
  farm_details?: Farm[];
  machineries_details?: Machinery[];
};
