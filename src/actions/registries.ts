/**
 * Which registries this server serves (DCI_REGISTRIES, DCI_DEFAULT_REGISTRY) among the profiles it has: the
 * built-in ones (src/registries/index.ts) and the deployment's extra ones (src/extensions.ts).
 */
import { type Config, ConfigError } from "../config.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { registryProfiles } from "../registries/index.ts";

/** DCI_REGISTRIES value meaning every registry this binary has (its default). */
export const ALL = "all";

/** The registries served, in DCI_REGISTRIES order, the default one, and those known but not served. */
export interface ServedRegistries {
  served: readonly RegistryProfile[];
  default: RegistryProfile;
  unserved: readonly RegistryProfile[];
}

/**
 * Every profile known: the registered ones (built-in first), then the extra ones not registered already (an
 * extra one may not reuse another profile's name).
 */
export function knownProfiles(extra: readonly RegistryProfile[] = []): RegistryProfile[] {
  const all = [...registryProfiles()];
  for (const p of extra) {
    if (all.includes(p)) continue;
    if (all.some((q) => q.name === p.name)) throw new ConfigError(`Registry "${p.name}" is defined twice`);
    all.push(p);
  }
  return all;
}

/**
 * Resolves the served registries: those DCI_REGISTRIES names, plus every extra one (a deployment passes a profile
 * in code to serve it). Throws ConfigError naming the unknown ones, or a default that is not served.
 */
export function servedRegistries(
  config: Pick<Config, "registries" | "defaultRegistry">,
  extra: readonly RegistryProfile[] = [],
): ServedRegistries {
  const known = knownProfiles(extra);
  const listed = config.registries.includes(ALL) ? known.map((p) => p.name) : config.registries;
  const names = [...new Set([...listed, ...extra.map((p) => p.name)])];
  const unknown = names.filter((n) => !known.some((p) => p.name === n));
  if (unknown.length > 0) {
    throw new ConfigError(
      `DCI_REGISTRIES names ${
        unknown.map((n) => JSON.stringify(n)).join(", ")
      }, which this server does not have ` +
        `(it has ${known.map((p) => p.name).join(", ")})`,
    );
  }
  const served = names.map((n) => known.find((p) => p.name === n)!);
  const def = served.find((p) => p.name === config.defaultRegistry);
  if (!def) {
    throw new ConfigError(
      `DCI_DEFAULT_REGISTRY "${config.defaultRegistry}" is not served (DCI_REGISTRIES: ${names.join(",")})`,
    );
  }
  return { served, default: def, unserved: known.filter((p) => !served.includes(p)) };
}
