/**
 * Farmer registry records → DCI JSON-LD records of spdci-schemas/extensions/fr/v1/data: a farmer is a `Farmer`
 * (class Farmer_Person: personal details as an FR Member whose demographic_info is an FRPerson, farm type,
 * FarmInfo list with FarmingActivities, CropDetails and LivestockDetails, Machineries); a group is an FR `Group`
 * of FR Members.
 */
import type { Registrant } from "../../registry/model.ts";
import { toDciGroup, toDciMember, toDciPerson } from "../social/mapping.ts";
import type { Json, MappingContext } from "../profile.ts";
import { compact } from "./read.ts";
import type { Activities, Crop, Farm, FarmerDetails, FarmLocation, Livestock, Machinery } from "./types.ts";

/** JSON-LD context sent with each top-level farmer registry record. */
export const FR_CONTEXT = {
  "@vocab": "https://schema.spdci.org/extensions/fr/v1/data",
  spdcicore: "https://schema.spdci.org/core/v1/data",
} as const;

/** The FRPerson (core Person) of a registrant. */
export function toFrPerson(reg: Registrant): Json {
  return toDciPerson(reg, false, "FRPerson");
}

/** A registrant as an FR Member (its relationship pointing at the group's head when given). */
export function toFrMember(reg: Registrant, head?: Registrant): Json {
  return toDciMember(reg, head, "FRPerson");
}

/**
 * A farm's Place: named, inside its locality (named as an spdci Address names it) inside its region, a Place whose
 * `@id` is its code in the place hierarchy (as crvs writes an event's region: a code is not a name).
 */
function place(l: FarmLocation): Json {
  const region = l.region_code === undefined ? undefined : { "@type": "Place", "@id": l.region_code };
  const locality = l.locality === undefined
    ? region
    : compact({ "@type": "Place", name: l.locality, contained_in_place: region });
  const geo = l.latitude === undefined && l.longitude === undefined
    ? undefined
    : compact({ "@type": "GeoCoordinates", latitude: l.latitude, longitude: l.longitude });
  return compact({
    "@type": "Place",
    name: l.name,
    address_line: l.address_line,
    geo,
    contained_in_place: locality,
  });
}

function crop(c: Crop): Json {
  return { "@type": "CropDetails", ...c };
}

function livestock(a: Livestock): Json {
  return { "@type": "LivestockDetails", ...a };
}

function activities(a: Activities): Json {
  return compact({
    "@type": "FarmingActivities",
    ...a,
    crop_production: a.crop_production?.map(crop),
    animal_production: a.animal_production?.map(livestock),
  });
}

function farmInfo(f: Farm): Json {
  return compact({
    "@type": "FarmInfo",
    ...f,
    location: f.location && place(f.location),
    farming_activities: f.farming_activities && activities(f.farming_activities),
  });
}

function machinery(m: Machinery): Json {
  return { "@type": "Machineries", ...m };
}

/** The Farmer record of a farmer (class Farmer_Person). */
export function toFarmer(reg: Registrant, withContext: boolean): Json {
  const d = (reg.details ?? {}) as FarmerDetails;
  return compact({
    ...(withContext ? { "@context": FR_CONTEXT } : {}),
    "@type": "Farmer",
    "@id": reg.externalId,
    farmer_personal_details: toFrMember(reg),
    family_details: reg.groupRef ? { "@type": "Group", "@id": reg.groupRef } : undefined,
    farm_type: d.farm_type,
    farm_details: d.farm_details?.map(farmInfo),
    machineries_details: d.machineries_details?.map(machinery),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  });
}

/** The FR Group record of a farm household or farmer group, with its members (head first) when given. */
export function toFrGroup(reg: Registrant, ctx: MappingContext): Json {
  return toDciGroup(reg, ctx.members, ctx.withContext, { personType: "FRPerson", context: FR_CONTEXT });
}
