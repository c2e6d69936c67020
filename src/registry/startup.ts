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
 * Builds the search indexes the registries named to be served lack (one served for the first time on this
 * database, where it was never written), before the server listens: each reads every registrant (seconds a
 * million), which a registry's first write would otherwise do while holding the write lock (on SQLite, its isolate
 * too). Named: listed in DCI_REGISTRIES, or a deployment's own. With `all` (the default) a registry's indexes wait
 * for its first write as before: built for every registry, they would cost every social write their partial
 * indexes' checks (68 of them) on a server that holds social alone.
 */
async function buildMissingIndexes(deps: Deps): Promise<void> {
  const load = deps.storage.registryLoad;
  const listed = deps.config.registries.includes("all") ? [] : deps.config.registries;
  const named = new Set([...listed, ...(deps.extensions?.registries ?? []).map((p) => p.name)]);
  const missing: Record<string, number> = {};
  for (const registry of named) {
    const n = await load.missingIndexes(registry);
    if (n > 0) missing[registry] = n;
  }
  if (Object.keys(missing).length === 0) return;
  deps.log.info("building the search indexes of registries served for the first time on this database", {
    indexes: missing,
  });
  const started = performance.now();
  for (const registry of Object.keys(missing)) await load.buildIndexes(registry);
  deps.log.info("registry search indexes built", { ms: Math.round(performance.now() - started) });
}
