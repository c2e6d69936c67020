/**
 * `POST …/ibr/registry/sync/enrollment/updates`: an SP system reports its beneficiaries (a receipt, in the
 * yaml's words: `receipt_type` enrolled — new enrolments, the default — or updated — changes to beneficiaries the
 * IBR already holds). Each Beneficiary is matched to a record by its identifiers; its enrolments are merged into
 * that record's (an enrolment in a programme the record has replaces it, a new programme is added after the
 * others) and its core fields replace the stored ones. Every beneficiary is answered on its own (succ, or rjct
 * with the reason); a refused one writes nothing. The writes are registry changes like any other: they raise the
 * `enrollement` / `enrollement_status_change` events and notify subscribers.
 */
import type { ActionInput, ActionResult } from "../profile.ts";
import type { Registrant } from "../../registry/model.ts";
import type { z } from "@hono/zod-openapi";
import { beneficiaryInput } from "./beneficiary_input.ts";
import { beneficiaryOf, type EnrolmentDetails } from "./details.ts";
import { isObj, type Obj } from "./fields.ts";
import type { EnrollmentUpdatesRequest } from "./schemas.ts";
import { answered, type IbrStore } from "./store.ts";
import { inputOf } from "./input.ts";
import { itemRef } from "./rejected.ts";

type Item = {
  reference_id: string;
  timestamp: string;
  status: "succ" | "rjct";
  status_reason_message?: string;
};

/** The answer to one EnrollmentUpdatesRequest (each beneficiary written or refused on its own). */
export async function applyEnrollmentUpdates(store: IbrStore, input: ActionInput): Promise<ActionResult> {
  const message = input.message as z.output<typeof EnrollmentUpdatesRequest>;
  const updates = (message.enrolled_updates ?? message.receipt_information)!;
  const updateOnly = /^upd/i.test(updates.receipt_type ?? "");
  const timestamp = new Date(input.now).toISOString();
  const items: Item[] = [];
  // One after another: a later beneficiary may name a household an earlier one wrote.
  for (const [i, b] of updates.beneficiaries.entries()) {
    const reference_id = itemRef(b, i);
    const outcome = await applyOne(store, b, `beneficiaries[${i}]`, updateOnly);
    items.push(
      outcome === undefined
        ? { reference_id, timestamp, status: "succ" }
        : { reference_id, timestamp, status: "rjct", status_reason_message: outcome.slice(0, 999) },
    );
  }
  return answered(message.transaction_id, input.correlationId, items);
}

/** Writes one beneficiary; returns why it was refused, or undefined. */
async function applyOne(
  store: IbrStore,
  b: Obj,
  path: string,
  updateOnly: boolean,
): Promise<string | undefined> {
  const converted = beneficiaryInput(b, path);
  if (!converted.ok) return converted.reason;
  const [main, ...members] = converted.records;
  const storage = main.record_type === "Group" ? "ibr_group" : "ibr_person";
  const existing = await findExisting(store, main, storage);
  if (!existing && updateOnly) {
    return `${path}: no beneficiary with these identifiers (receipt_type "updated")`;
  }
  const record = existing ? merge(existing, main) : main;
  if (!existing && storage === "ibr_group") record.id = crypto.randomUUID();
  const written = await store.put(record);
  if (!written.ok) return `${path}: ${written.reason}`;
  for (const [i, m] of members.entries()) {
    const known = await findExisting(store, m, "ibr_person");
    const r = await store.put({ ...(known ? merge(known, m) : m), group_id: record.id });
    if (!r.ok) return `${path}.group.member_list[${i}]: ${r.reason} (the household was written)`;
  }
  return undefined;
}

/** The stored record one of whose identifiers the input carries. */
async function findExisting(store: IbrStore, raw: Obj, storage: string): Promise<Registrant | undefined> {
  const ids = [
    ...(Array.isArray(raw.identifier) ? raw.identifier : []),
    ...(Array.isArray(raw.group_identifier) ? raw.group_identifier : []),
  ];
  for (const id of ids.slice(0, 10)) {
    if (!isObj(id)) continue;
    const value = id.identifier_value ?? id.value;
    const type = id.identifier_type ?? id.type;
    if (typeof value !== "string" && typeof value !== "number") continue;
    const found = await store.findByIdentifier(
      {
        value: String(value),
        ...(typeof type === "string" ? { type: type.split(":").pop()!.toUpperCase() } : {}),
      },
      [storage],
      1,
    );
    if (found.length) return found[0];
  }
  return undefined;
}

/** The stored record overlaid with the update: core fields given replace, enrolments merge per programme. */
function merge(existing: Registrant, update: Obj): Obj {
  const out: Obj = { ...inputOf(existing) };
  for (const [k, v] of Object.entries(update)) if (k !== "details" && v !== undefined) out[k] = v;
  out.id = existing.externalId;
  // Identifiers add up: an SP system names a beneficiary by the ones it knows, the others stay.
  for (const key of ["identifier", "group_identifier"]) {
    const had = inputOf(existing)[key];
    if (Array.isArray(had) && Array.isArray(update[key])) out[key] = [...had, ...update[key] as unknown[]];
  }
  const was = beneficiaryOf(existing.details);
  const incoming = isObj(update.details) ? update.details : {};
  const enrolments: Array<EnrolmentDetails | Obj> = [...(was.enrolments ?? [])];
  for (const e of Array.isArray(incoming.enrolments) ? incoming.enrolments as Obj[] : []) {
    const at = enrolments.findIndex((x) => x.programme_identifier === e.programme_identifier);
    if (at >= 0) enrolments[at] = e;
    else enrolments.push(e);
  }
  out.details = {
    ...(incoming.assistance_unit ?? was.assistance_unit
      ? { assistance_unit: incoming.assistance_unit ?? was.assistance_unit }
      : {}),
    enrolments,
  };
  return out;
}
