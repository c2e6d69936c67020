/**
 * IBR test fixtures: input records read into Registrants the way the store reads them (the core reader, then the
 * profile's readDetails), and an in-memory IbrStore for the endpoint handlers.
 */
import { InputError, readRegistrant, type Registrant } from "../../src/registry/model.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import type { RecordTypeDef } from "../../src/registries/profile.ts";
import type { IbrStore } from "../../src/registries/ibr/store.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

export const NOW = "2026-01-01T00:00:00.000Z";

/**
 * An `sync/enrollment/updates` message moving the demo beneficiary IBR-TEST-001 (NID ABC451123) in programme
 * DCI001 to enrolment `status`.
 */
export function testEnrolmentUpdate(transactionId: string, status: string): Json {
  return {
    transaction_id: transactionId,
    enrolled_updates: {
      receipt_type: "updated",
      beneficiaries: [{
        member: { member_identifier: [{ identifier_type: "NID", identifier_value: "ABC451123" }] },
        programme_identifier: [{
          programme_identifier: "DCI001",
          programme_name: "Test Programme",
          enrolment_date: "2024-02-02",
          enrolment_status: status,
        }],
      }],
    },
  };
}

/** The record type an input record names (its record_type among the profile's names). */
export function recordTypeOf(raw: Json): RecordTypeDef {
  const name = String(raw.record_type ?? "Beneficiary").toLowerCase();
  const found = ibrProfile.recordTypes.find((t) => t.names.some((n) => n.toLowerCase() === name));
  if (!found) throw new InputError([`record_type: ${name} is not an IBR record type`]);
  return found;
}

/** Reads an IBR input record into a Registrant (throws InputError with every problem). */
export function toRegistrant(raw: Json): Registrant {
  return readRegistrant(raw, NOW, undefined, ibrProfile);
}

/** The problems readDetails finds in an input record ([] when none). */
export function detailErrors(raw: Json): string[] {
  const errors: string[] = [];
  ibrProfile.readDetails(raw, recordTypeOf(raw), errors);
  return errors;
}

/** The type definition of a stored registrant. */
export function typeOfStored(reg: Registrant): RecordTypeDef {
  return ibrProfile.recordTypes.find((t) => t.storage === String(reg.recordType))!;
}

/** An in-memory IbrStore over input records (what was put is kept, by external id). */
export function memoryStore(records: Iterable<Json> = []): IbrStore & { all(): Registrant[] } {
  const byId = new Map<string, Registrant>();
  for (const r of records) {
    const reg = toRegistrant(r);
    byId.set(reg.externalId, reg);
  }
  return {
    all: () => [...byId.values()],
    findByIdentifier: (id, storage, limit) =>
      Promise.resolve(
        [...byId.values()].filter((r) =>
          storage.includes(String(r.recordType)) &&
          r.identifiers.some((i) => i.value === id.value && (id.type === undefined || i.type === id.type))
        ).slice(0, limit),
      ),
    getByExternalId(externalId, storage) {
      const r = byId.get(externalId);
      return Promise.resolve(r && storage.includes(String(r.recordType)) ? r : undefined);
    },
    put: (raw) =>
      Promise.try(() => {
        try {
          const reg = toRegistrant(raw);
          const created = !byId.has(reg.externalId);
          byId.set(reg.externalId, reg);
          return { ok: true as const, created };
        } catch (e) {
          if (e instanceof InputError) return { ok: false as const, reason: e.message };
          throw e;
        }
      }),
    update: (externalId, merge) =>
      Promise.try(() => {
        const current = byId.get(externalId);
        if (!current) return undefined;
        try {
          const reg = toRegistrant(merge(current));
          byId.set(reg.externalId, reg);
          return { ok: true as const, created: false };
        } catch (e) {
          if (e instanceof InputError) return { ok: false as const, reason: e.message };
          throw e;
        }
      }),
  };
}
