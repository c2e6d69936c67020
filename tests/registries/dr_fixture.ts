/** DR demo records read as stored registrants, and a person finder over them (handler tests without a store). */
import { readRegistrant, type Registrant } from "../../src/registry/model.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";
import type { RecordTypeDef } from "../../src/registries/profile.ts";
import type { PersonFinder } from "../../src/registries/dr/actions/lookup.ts";

type Json = Record<string, unknown>;

/** The DR record type an input record names. */
export function recordTypeOf(raw: Json): RecordTypeDef {
  const name = String(raw.record_type ?? "PWDPerson").toLowerCase();
  const def = drProfile.recordTypes.find((t) => t.names.some((n) => n.toLowerCase() === name));
  if (!def) throw new Error(`no DR record type ${name}`);
  return def;
}

/** An input record as the store keeps it: the core reader's registrant with the DR details. Throws on errors. */
export function readDr(raw: Json, now = "2026-01-01T00:00:00.000Z"): Registrant {
  const def = recordTypeOf(raw);
  const errors: string[] = [];
  const details = drProfile.readDetails(raw, def, errors);
  if (errors.length) throw new Error(errors.join("; "));
  const { details: _d, record_type: _t, ...core } = raw;
  const reg = readRegistrant({ ...core, record_type: def.kind }, now);
  return details === undefined ? reg : { ...reg, details };
}

/** The demo's registrants. */
export function demoRegistrants(count = 20, seed = 1): Registrant[] {
  return [...drProfile.demo(count, seed)].map((raw) => readDr(raw));
}

/** A finder over `regs` (persons only), as the store's: by type and value, or value under any type. */
export function memoryFinder(regs: Registrant[]): PersonFinder {
  return (_deps, id, limit) =>
    regs.filter((r) =>
      r.recordType === "person" &&
      r.identifiers.some((i) => i.value === id.value && (id.type === undefined || i.type === id.type))
    ).slice(0, limit);
}
