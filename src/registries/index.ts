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
export const PROFILES: readonly RegistryProfile[] = [
  placeholder("social", "Social registry", ALL),
  placeholder("crvs", "Civil registration and vital statistics", ALL),
  placeholder("fr", "Farmer registry", ALL),
  // The DR spec defines no txn status.
  placeholder("dr", "Disability registry", ["search", "subscribe", "unsubscribe", "receipt"]),
  placeholder("ibr", "Integrated beneficiary registry", ALL),
];

/** The profile named `name`, or undefined. */
export function getProfile(name: string): RegistryProfile | undefined {
  return PROFILES.find((p) => p.name === name);
}
