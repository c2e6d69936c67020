/**
 * The names this server sends for registry types and record types, the same in search answers and notifications:
 * each registry's profile declares them (src/registries/*: `regType`, the first of a record type's `names`;
 * social: `ns:org:RegistryType:Social`, `SRPerson`, `Group`).
 */
import type { Registry } from "./registry_router.ts";
import { profileOf, recordTypeOfStorage } from "../registries/index.ts";

/** The `reg_type` of each registry, as the spec's RegistryType examples write them (for registries without a profile). */
export const REG_TYPE_NAMES: Readonly<Record<Registry, string>> = {
  social: "ns:org:RegistryType:Social",
  crvs: "ns:org:RegistryType:Civil",
  fr: "ns:org:RegistryType:FR",
  dr: "ns:org:RegistryType:DR",
  ibr: "ns:org:RegistryType:IBR",
};

/** The `reg_type` sent for `registry` (a registry this server does not know keeps its own name). */
export function regTypeName(registry: string): string {
  const profile = profileOf(registry);
  if (profile) return profile.regType;
  return Object.hasOwn(REG_TYPE_NAMES, registry) ? REG_TYPE_NAMES[registry as Registry] : registry;
}

/** The `reg_record_type` sent for records of storage record type `type` (`person` → `SRPerson`). */
export function recordTypeName(type: string): string {
  return recordTypeOfStorage(type)?.recordType.names[0] ?? type;
}
