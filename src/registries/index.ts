/**
 * The registry profiles this binary knows, looked up by name. (Placeholder until the registry folders land: each
 * entry declares only its name, reg_type and the standard actions its spec defines; the storage helper's version
 * of this file replaces it.)
 */
import type { RegistryProfile } from "./profile.ts";
import { REG_TYPE_NAMES } from "../dci/vocabulary.ts";

type Standard = RegistryProfile["standardActions"];

const ALL: Standard = ["search", "subscribe", "unsubscribe", "txn-status", "receipt"];

function placeholder(
  name: keyof typeof REG_TYPE_NAMES,
  title: string,
  standardActions: Standard,
): RegistryProfile {
  return {
    name,
    title,
    regType: REG_TYPE_NAMES[name],
    regTypeAliases: [],
    recordTypes: [{
      storage: name === "social" ? "person" : `${name}_person`,
      kind: "person",
      names: ["Person"],
    }],
    idTypes: [],
    attributes: [],
    eventTypes: [],
    standardActions,
    actions: [],
    readDetails: () => undefined,
    toRecord: () => ({}),
    importColumns: [],
    demo: () => [],
  };
}

/** Every registry profile, in the order the docs list them. */
export const PROFILES: RegistryProfile[] = [
  placeholder("social", "Social registry", ALL),
  placeholder("crvs", "Civil registration and vital statistics", ALL),
  placeholder("fr", "Farmer registry", ALL),
  // The DR spec defines no txn status.
  placeholder("dr", "Disability registry", ["search", "subscribe", "unsubscribe", "receipt"]),
  placeholder("ibr", "Integrated beneficiary registry", ALL),
];

/** Every profile, in registration order. */
export function registryProfiles(): readonly RegistryProfile[] {
  return PROFILES;
}

/** The profile of registry `name` (case-insensitive), or undefined. */
export function profileOf(name: string): RegistryProfile | undefined {
  const key = name.trim().toLowerCase();
  return PROFILES.find((p) => p.name === key);
}

/** Adds a registry (a deployment's own, or a test's); returns a function that removes it again. */
export function registerProfile(profile: RegistryProfile): () => void {
  if (profileOf(profile.name)) throw new Error(`registry "${profile.name}" is already registered`);
  PROFILES.push(profile);
  return () => {
    const at = PROFILES.indexOf(profile);
    if (at >= 0) PROFILES.splice(at, 1);
  };
}
