/** A stored IBR registrant back in the input shape (to merge an update into it and write it again). */
import type { Registrant } from "../../registry/model.ts";
import { compact, type Obj } from "./fields.ts";
import { IBR_RECORD_TYPES } from "./record_types.ts";

/** The input record `readRegistrant` + `readDetails` read back into `reg`. */
export function inputOf(reg: Registrant): Obj {
  const type = IBR_RECORD_TYPES.find((t) => t.storage === String(reg.recordType));
  const ids = reg.identifiers.map((i) => ({ identifier_type: i.type, identifier_value: i.value }));
  const group = type?.kind === "group";
  return compact({
    id: reg.externalId,
    record_type: type?.names[0] ?? String(reg.recordType),
    [group ? "group_identifier" : "identifier"]: ids,
    name: Object.keys(reg.name).length ? { ...reg.name } : undefined,
    sex: reg.sex,
    birth_date: reg.birthDate,
    death_date: reg.deathDate,
    address: reg.addresses,
    phone_number: reg.phones,
    email: reg.emails,
    group_id: reg.groupRef,
    relationship: reg.relationship,
    group_type: reg.groupType,
    group_size: reg.groupSize,
    poverty_score: reg.povertyScore,
    poverty_score_type: reg.povertyScoreType,
    registration_date: reg.registrationDate,
    attributes: Object.keys(reg.attributes).length ? reg.attributes : undefined,
    details: reg.details,
  });
}
