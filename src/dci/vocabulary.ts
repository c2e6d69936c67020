/**
 * The names this server sends for registry types and record types, the same in search answers and notifications
 * (the spec's examples: `ns:org:RegistryType:Social`, `SRPerson`; the social Group extension: `Group`).
 */
import type { Registry } from "./registry_router.ts";
import type { RecordType } from "../registry/attributes.ts";

/** The `reg_type` of each registry, as the spec's RegistryType examples write them. */
export const REG_TYPE_NAMES: Readonly<Record<Registry, string>> = {
  social: "ns:org:RegistryType:Social",
  crvs: "ns:org:RegistryType:Civil",
  fr: "ns:org:RegistryType:FR",
  dr: "ns:org:RegistryType:DR",
  ibr: "ns:org:RegistryType:IBR",
};

/** The `reg_type` sent for `registry` (a registry this server does not know keeps its own name). */
export function regTypeName(registry: string): string {
  return Object.hasOwn(REG_TYPE_NAMES, registry) ? REG_TYPE_NAMES[registry as Registry] : registry;
}

/** The `reg_record_type` sent for records of `type`. */
export function recordTypeName(type: RecordType): "SRPerson" | "Group" {
  return type === "group" ? "Group" : "SRPerson";
}
