/** DR demo records read as stored registrants, and a person finder over them (handler tests without a store). */
import { readRegistrant, type Registrant } from "../../src/registry/model.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";
import type { PersonFinder } from "../../src/registries/dr/actions/lookup.ts";
import { DR_PERSON } from "../../src/registries/dr/record_types.ts";

type Json = Record<string, unknown>;

/** An input record as the store keeps it: the core reader's registrant with the DR details. Throws on errors. */
export function readDr(raw: Json, now = "2026-01-01T00:00:00.000Z"): Registrant {
  return readRegistrant(raw, now, undefined, drProfile);
}

/** The demo's registrants. */
export function demoRegistrants(count = 20, seed = 1): Registrant[] {
  return [...drProfile.demo(count, seed)].map((raw) => readDr(raw));
}

/** A finder over `regs` (persons only), as the store's: by type and value, or value under any type. */
export function memoryFinder(regs: Registrant[]): PersonFinder {
  return (_deps, id, limit) =>
    Promise.resolve(
      regs.filter((r) =>
        r.recordType === DR_PERSON &&
        r.identifiers.some((i) => i.value === id.value && (id.type === undefined || i.type === id.type))
      ).slice(0, limit),
    );
}
