/**
 * The demo place hierarchy: the fictional country ZZ, its regions and their localities, with the very codes and
 * names the demo records carry (src/registries/social/seed.ts DEMO_PLACES: `address.region_code`, `address.locality`,
 * `address.country_code`), so every place in a demo record resolves in /.well-known/locations.json.
 */
import type { Deps } from "../deps.ts";
import { DEMO_PLACES } from "../registries/social/seed.ts";
import type { Place } from "./model.ts";

/** The demo country's code (the demo records' `country_code`). */
export const DEMO_COUNTRY = "ZZ";

function title(code: string): string {
  return code.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
}

/** `Market Town` → `market_town`: a locality's code from its name. */
export function localityCode(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
}

/** The demo hierarchy, parents before children. */
export function demoPlaces(): Place[] {
  const places: Place[] = [
    { code: DEMO_COUNTRY, name: "Zedland", level: "country", parent: null, identifiers: [] },
  ];
  for (const region of Object.keys(DEMO_PLACES)) {
    places.push({
      code: region,
      name: title(region),
      level: "region",
      parent: DEMO_COUNTRY,
      identifiers: [],
    });
  }
  for (const [region, localities] of Object.entries(DEMO_PLACES)) {
    for (const name of localities) {
      places.push({ code: localityCode(name), name, level: "locality", parent: region, identifiers: [] });
    }
  }
  return places;
}

/**
 * Start-up, before the registry's demo seeding: with the demo on, seeds the demo hierarchy into a data dir whose
 * registry is empty and that has no hierarchy. A deployment holding real records (DCI_SEED_DEMO is on by default)
 * never gets the fictional country, and an imported hierarchy is never replaced.
 */
export async function locationsStartup(deps: Deps): Promise<void> {
  if (!deps.config.seedDemo || deps.config.demoSize === 0 || await deps.storage.locations.info()) return;
  if (!await deps.storage.registry.isEmpty()) return;
  // Checked again inside the replace's transaction: an import a CLI commits meanwhile is never replaced.
  const r = await deps.storage.locations.replace(demoPlaces(), {
    source: "demo",
    now: new Date(deps.clock.now()).toISOString(),
    ifNone: true,
  });
  if (!r.skipped) deps.log.info("demo location hierarchy seeded", { places: r.added });
}
