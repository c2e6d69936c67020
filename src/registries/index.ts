/**
 * The registries this binary knows, looked up by name (the path segment and config name) or by a storage record
 * type. Adding a registry is one folder exporting a RegistryProfile and one entry in PROFILES; a deployment's own
 * `main.ts` (or a test) may also `registerProfile` one at start.
 */
import type { RecordTypeDef, RegistryProfile } from "./profile.ts";
import { socialProfile } from "./social/profile.ts";
import { crvsProfile } from "./crvs/mod.ts";
import { frProfile } from "./fr/mod.ts";
import { ibrProfile } from "./ibr/index.ts";
import { drProfile } from "./dr/profile.ts";

/** The built-in profiles, social first (the default registry). */
const PROFILES: RegistryProfile[] = [socialProfile, crvsProfile, frProfile, drProfile, ibrProfile];
/** The registries every isolate and worker has (a deployment's own are registered in its main isolate only). */
const BUILT_IN: ReadonlySet<RegistryProfile> = new Set(PROFILES);

/** Whether `profile` is one of the built-in registries (known to every search worker), not a deployment's. */
export function isBuiltIn(profile: RegistryProfile): boolean {
  return BUILT_IN.has(profile);
}

/** Storage record types and registry names become SQL constants (partial indexes, compiled queries). */
const SAFE_NAME = /^[a-z][a-z0-9_]{0,39}$/;

let byStorage: Map<string, { profile: RegistryProfile; recordType: RecordTypeDef }> | undefined;

function storageIndex() {
  if (!byStorage) {
    byStorage = new Map();
    for (const profile of PROFILES) {
      for (const recordType of profile.recordTypes) {
        byStorage.set(recordType.storage, { profile, recordType });
      }
    }
  }
  return byStorage;
}

/** Every profile, in registration order. */
export function registryProfiles(): readonly RegistryProfile[] {
  return PROFILES;
}

/** The profile of registry `name` (case-insensitive), or undefined. */
export function profileOf(name: string): RegistryProfile | undefined {
  const key = name.trim().toLowerCase();
  return PROFILES.find((p) => p.name === key);
}

/** The profile of registry `name`; throws naming the known ones when there is none. */
export function requireProfile(name: string): RegistryProfile {
  const p = profileOf(name);
  if (!p) {
    throw new Error(`unknown registry "${name}" (known: ${PROFILES.map((x) => x.name).join(", ")})`);
  }
  return p;
}

/** The social registry's profile (the default registry and the one every older caller means). */
export function socialRegistry(): RegistryProfile {
  return socialProfile;
}

/** The profile and record type definition of a storage record type (`person`, `crvs_person`, ...). */
export function recordTypeOfStorage(
  storage: string,
): { profile: RegistryProfile; recordType: RecordTypeDef } | undefined {
  return storageIndex().get(storage);
}

/**
 * Adds a registry (a deployment's own, or a test's). Its name and storage record types must be new and plain
 * (`[a-z][a-z0-9_]*`): they are written into SQL as constants. Returns a function that removes it again (tests).
 */
export function registerProfile(profile: RegistryProfile): () => void {
  if (!SAFE_NAME.test(profile.name)) {
    throw new Error(`registry name "${profile.name}" must match ${SAFE_NAME}`);
  }
  if (profileOf(profile.name)) throw new Error(`registry "${profile.name}" is already registered`);
  if (profile.recordTypes.length === 0) throw new Error(`registry "${profile.name}" has no record types`);
  for (const rt of profile.recordTypes) {
    if (!SAFE_NAME.test(rt.storage)) {
      throw new Error(`storage record type "${rt.storage}" must match ${SAFE_NAME}`);
    }
    if (storageIndex().has(rt.storage)) throw new Error(`storage record type "${rt.storage}" is taken`);
  }
  PROFILES.push(profile);
  byStorage = undefined;
  return () => {
    const at = PROFILES.indexOf(profile);
    if (at >= 0) PROFILES.splice(at, 1);
    byStorage = undefined;
  };
}

/** The storage record type of a registry's groups (a person's household), `group` when it has none. */
export function groupStorageOf(profile: RegistryProfile): string {
  return profile.recordTypes.find((rt) => rt.kind === "group")?.storage ?? "group";
}

/** Whether a registry's persons can have a household (it has a group record type; crvs has none). */
export function hasHouseholds(profile: RegistryProfile): boolean {
  return profile.recordTypes.some((rt) => rt.kind === "group");
}

/** The last segment of a code or URN, lower case (`ns:org:RecordType:Farmer` → `farmer`), or undefined. */
export function lastSegment(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.length > 200) return undefined;
  return raw.trim().split(/[:/#]/).pop()?.toLowerCase();
}

/** The record type of `profile` a client's name denotes (its names or storage name), or undefined. */
export function recordTypeNamed(profile: RegistryProfile, raw: unknown): RecordTypeDef | undefined {
  const key = lastSegment(raw);
  if (key === undefined) return undefined;
  return profile.recordTypes.find((rt) =>
    rt.storage === key || rt.names.some((n) => n.toLowerCase().split(":").pop() === key)
  );
}

/** Whether `raw` names `profile` as a `reg_type` (its regType or an alias, after the last `:`). */
export function isRegType(profile: RegistryProfile, raw: unknown): boolean {
  const key = lastSegment(raw);
  if (key === undefined) return false;
  return [profile.regType, ...profile.regTypeAliases, profile.name].some((n) =>
    n.toLowerCase().split(":").pop() === key
  );
}
