/**
 * The civil registry's subscription event types: one per vital event (VitalEventTypeEnum). A registration or
 * update is that event when it records one the record did not have before (a second marriage is a new marriage
 * event; correcting a name or the date of a death is none). A deletion is no vital event.
 */
import type { Registrant } from "../../registry/model.ts";
import type { ProfileEventType } from "../profile.ts";
import { crvsDetails } from "./details.ts";
import { ONCE_ONLY, VITAL_EVENT_NAMES, VITAL_EVENT_TYPES, type VitalEventType } from "./vocabulary.ts";

/** The `type|date` keys of a record's events of one type (a death is also a core `death_date`). */
function keys(reg: Registrant | undefined, type: VitalEventType): Set<string> {
  const out = new Set<string>();
  if (!reg) return out;
  for (const e of crvsDetails(reg.details).vital_events) if (e.type === type) out.add(e.date);
  if (type === "death" && reg.deathDate && !out.size) out.add(reg.deathDate);
  return out;
}

/** Whether `after` records an event of `type` that `before` did not. */
export function recordsNewEvent(type: VitalEventType, after: Registrant, before?: Registrant): boolean {
  const had = keys(before, type);
  if (ONCE_ONLY.has(type) && had.size) return false;
  for (const k of keys(after, type)) if (!had.has(k)) return true;
  return false;
}

/** The civil registry's event types, in VitalEventTypeEnum order. */
export const CRVS_EVENT_TYPES: readonly ProfileEventType[] = VITAL_EVENT_TYPES.map((type) => ({
  names: VITAL_EVENT_NAMES[type],
  matches: (change, after, before) => change !== "delete" && recordsNewEvent(type, after, before),
}));
