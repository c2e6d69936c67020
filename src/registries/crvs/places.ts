/**
 * Places of vital events: read from input (an object, or a place code as a string) and mapped to spdci Places
 * (core/v1/data/Place.jsonld). Localities and regions are the codes of the place hierarchy
 * (`/.well-known/locations.json`; the demo uses the social demo's `central_region`, `Riverside`, ...): a region by
 * its code (the Place's `@id`), a locality by its name inside its region, as an spdci Address carries them.
 */

/** A place as stored in `details`. */
export interface EventPlace {
  /** The facility or place name (`Riverside District Hospital`). */
  name?: string;
  address_line?: string;
  /** Locality of the place hierarchy, by name as in an spdci Address (`Riverside`). */
  locality?: string;
  /** Region code of the place hierarchy. */
  region_code?: string;
}

const MAX_TEXT = 256;
const FIELDS: Readonly<Record<string, keyof EventPlace>> = {
  name: "name",
  address_line: "address_line",
  locality: "locality",
  city: "locality",
  region_code: "region_code",
  region: "region_code",
};

/**
 * Reads a place (`{name, address_line, locality, region_code}`; a string is a locality name); each problem is
 * pushed to `errors` naming `field`. Undefined when absent or empty.
 */
export function readPlace(raw: unknown, field: string, errors: string[]): EventPlace | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw === "string") {
    return text(raw, field, errors) === undefined ? undefined : { locality: raw.trim() };
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    errors.push(`${field}: expected a place object or a locality name`);
    return undefined;
  }
  const out: EventPlace = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "@type" || k === "@id") continue;
    const target = Object.hasOwn(FIELDS, k) ? FIELDS[k] : undefined;
    if (!target) {
      errors.push(`${field}.${k}: unknown field (use name, address_line, locality, region_code)`);
      continue;
    }
    const t = text(v, `${field}.${k}`, errors);
    if (t !== undefined) out[target] = t;
  }
  return Object.keys(out).length ? out : undefined;
}

function text(v: unknown, field: string, errors: string[]): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || v.length > MAX_TEXT) {
    errors.push(`${field}: expected a string of at most ${MAX_TEXT} characters`);
    return undefined;
  }
  return v.trim() || undefined;
}

/** The place codes of a place (locality, region), for the searchable place attributes. */
export function placeCodes(p: EventPlace | undefined): string[] {
  if (!p) return [];
  const out: string[] = [];
  if (p.locality) out.push(p.locality);
  if (p.region_code) out.push(p.region_code);
  return out;
}

type Json = Record<string, unknown>;

/**
 * The spdci Place of an event place: the named place (or the locality itself) contained in its locality and
 * region. A region is a Place whose `@id` is its code in the place hierarchy; a locality is named as an spdci
 * Address names it (`Riverside`), inside its region, as `/.well-known/locations.json` resolves it.
 */
export function toPlace(p: EventPlace): Json {
  const region = p.region_code ? { "@type": "Place", "@id": p.region_code } : undefined;
  const locality = p.locality
    ? { "@type": "Place", name: p.locality, ...(region ? { contained_in_place: region } : {}) }
    : undefined;
  const out: Json = p.name
    ? { "@type": "Place", name: p.name }
    : { ...(locality ?? region ?? { "@type": "Place" }) };
  if (p.address_line) out.address_line = p.address_line;
  if (p.name && (locality ?? region)) out.contained_in_place = locality ?? region;
  return out;
}
