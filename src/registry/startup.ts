/** Start-up work for the registry: finish an interrupted bulk load, seed a demo registry into an empty one. */
import type { Deps } from "../deps.ts";
import { restoreIndexes } from "./bulk.ts";
import { writeAll } from "./batch.ts";
import { demoRecords } from "../registries/social/seed.ts";
import { stmt } from "../db/statements.ts";

/** True when no registrant (live or deleted) exists. */
export function registryIsEmpty(deps: Pick<Deps, "db">): boolean {
  return stmt(deps.db, "SELECT 1 FROM registrants LIMIT 1").get() === undefined;
}

/** Recreates deferred indexes, then seeds `config.demoSize` demo persons when `config.seedDemo` and empty. */
export async function registryStartup(deps: Deps): Promise<void> {
  const restored = restoreIndexes(deps.db);
  if (restored > 0) deps.log.warn("registry indexes rebuilt after an interrupted bulk load", { restored });
  if (!deps.config.seedDemo || deps.config.demoSize === 0 || !registryIsEmpty(deps)) return;
  const report = await writeAll(deps.db, demoRecords(deps.config.demoSize, 1), {
    now: () => new Date(deps.clock.now()).toISOString(),
  });
  deps.log.info("demo registry seeded", { persons: deps.config.demoSize, records: report.registered });
}
