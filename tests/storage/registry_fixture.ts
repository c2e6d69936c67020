/** Registrants for the registry store's tests. */
import { readRegistrant } from "../../src/registry/model.ts";
import { profileOf } from "../../src/registries/index.ts";

const NOW = "2026-01-01T00:00:00.000Z";

/** A registrant from an input record of `registry` (social by default). */
export function reg(raw: Record<string, unknown>, registry = "social", now = NOW) {
  return readRegistrant(raw, now, undefined, profileOf(registry)!);
}

/** A social person. */
export function person(id: string, extra: Record<string, unknown> = {}) {
  return reg({ id, record_type: "person", name: { given_name: "Ann", surname: "Lee" }, ...extra });
}
