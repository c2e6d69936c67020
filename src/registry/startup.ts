/** Start-up work for the registry: finish an interrupted bulk load, seed every served registry into an empty one. */
import type { Deps } from "../deps.ts";
import type { SourceRecord } from "./batch.ts";
import { servedRegistries } from "../actions/registries.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/** The registries this server serves (DCI_REGISTRIES, `all` by default, and a deployment's extra ones). */
export function servedProfiles(deps: Pick<Deps, "config" | "extensions">): readonly RegistryProfile[] {
  return servedRegistries(deps.config, deps.extensions?.registries).served;
}

/** A profile's demo records (`profile.demo`) as import source records. */
export function* demoSource(profile: RegistryProfile, count: number, seed: number): Generator<SourceRecord> {
  for (const raw of profile.demo(count, seed)) yield { line: 0, raw };
}

/**
 * Recreates deferred indexes, then, when `config.seedDemo` and the data dir holds no registrant, seeds every
 * served registry with its demo (`config.demoSize` records each, the partners' test records first).
 */
export async function registryStartup(deps: Deps): Promise<void> {
  const load = deps.storage.registryLoad;
  const restored = await load.restoreIndexes();
  if (restored > 0) deps.log.warn("registry indexes rebuilt after an interrupted bulk load", { restored });
  await buildMissingIndexes(deps);
  if (!deps.config.seedDemo || deps.config.demoSize === 0 || !await deps.storage.registry.isEmpty()) return;
  for (const profile of servedProfiles(deps)) {
    const report = await load.writeAll(demoSource(profile, deps.config.demoSize, 1), {
      now: () => new Date(deps.clock.now()).toISOString(),
      profile,
    });
    if (report.rejectedCount > 0) {
      deps.log.warn("demo records refused", {
        registry: profile.name,
        rejected: report.rejected.slice(0, 5),
      });
    }
    deps.log.info("demo registry seeded", {
      registry: profile.name,
      size: deps.config.demoSize,
      records: report.registered,
    });
  }
}

/**
 * Builds the search indexes served registries lack (one served for the first time on this database, where it was
 * never written), before the server listens: each reads every registrant (seconds a million), which a registry's
 * first write would otherwise do while holding the write lock (on SQLite, its isolate too).
 */
async function buildMissingIndexes(deps: Deps): Promise<void> {
  const load = deps.storage.registryLoad;
  const missing: Record<string, number> = {};
  for (const profile of servedProfiles(deps)) {
    const n = await load.missingIndexes(profile.name);
    if (n > 0) missing[profile.name] = n;
  }
  if (Object.keys(missing).length === 0) return;
  deps.log.info("building the search indexes of registries served for the first time on this database", {
    indexes: missing,
  });
  const started = performance.now();
  for (const registry of Object.keys(missing)) await load.buildIndexes(registry);
  deps.log.info("registry search indexes built", { ms: Math.round(performance.now() - started) });
}
