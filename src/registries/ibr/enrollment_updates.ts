/**
 * `POST …/ibr/registry/sync/enrollment/updates`: an SP system reports its beneficiaries (a receipt, in the
 * yaml's words: `receipt_type` enrolled — new enrolments, the default — or updated — changes to beneficiaries the
 * IBR already holds). Each Beneficiary is matched to a record by its identifiers; its enrolments are merged into
 * that record's (an enrolment in a programme the record has replaces it, a new programme is added after the
 * others) and its core fields replace the stored ones. The read, the merge and the write are one step of the
 * store (its transaction, under the registry lock), so two updates of one beneficiary at once both count. Every
 * beneficiary is answered on its own (succ, or rjct with the reason); a refused one writes nothing. The writes
 * are registry changes like any other: they raise the `enrollement` / `enrollement_status_change` events and
 * notify subscribers.
 *
 * Applying a request again changes nothing (the action `writes`: a copy is admitted until the request has been
 * answered, so the sender's retry after a 503 part-way applies the rest): a beneficiary is matched by its
 * identifiers, identifiers already held are not added twice (the reader keeps one of each), an enrolment
 * replaces the one of its programme, a stored household member's details are left as they are, and a record
 * created without a match takes an id derived from the request (sender, message_id, message_ts, message) and its
 * place in it, so the copy finds it again. A copy applied after another update of the same records (the sender's
 * late retry of an update it had given up on) applies its values over that update's, as any late write does.
 */
import { createHash } from "node:crypto";
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
  const newId = newIdsOf(input);
  // One after another: a later beneficiary may name a household an earlier one wrote.
  for (const [i, b] of updates.beneficiaries.entries()) {
    const reference_id = itemRef(b, i);
    const outcome = await applyOne(store, b, `beneficiaries[${i}]`, { updateOnly, newId });
    items.push(
      outcome === undefined
        ? { reference_id, timestamp, status: "succ" }
        : { reference_id, timestamp, status: "rjct", status_reason_message: outcome.slice(0, 999) },
    );
  }
  return answered(message.transaction_id, input.correlationId, items);
}

/**
 * The id of a record a request creates at `path` (a beneficiary, or a household's member): a UUID (RFC 9562
 * version 8) of SHA-256 over the sender, the message_id, the message_ts, the message and the path, so that a copy
 * of the request names the same record, and another request does not (a message_id used again after the replay
 * window, or a body rebuilt under the same message_id). Without a message_id (the schema requires one), a random
 * UUID.
 */
function newIdsOf(input: ActionInput): (path: string) => string {
  const { message_id: messageId, message_ts: messageTs } = input.header ?? {};
  if (typeof messageId !== "string") return () => crypto.randomUUID();
  const request = createHash("sha256")
    .update(JSON.stringify([input.senderId, messageId, messageTs, input.message]))
    .digest("hex");
  return (path) => {
    const b = createHash("sha256").update(`${request}\n${path}`).digest();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    return b.subarray(0, 16).toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
  };
}

/** Writes one beneficiary; returns why it was refused, or undefined. */
async function applyOne(
  store: IbrStore,
  b: Obj,
  path: string,
  options: { updateOnly: boolean; newId: (path: string) => string },
): Promise<string | undefined> {
  const converted = beneficiaryInput(b, path);
  if (!converted.ok) return converted.reason;
  const { main } = converted;
  const storage = main.record_type === "Group" ? "ibr_group" : "ibr_person";
  const written = await write(store, main, storage, {
    updateOnly: options.updateOnly,
    id: options.newId(path),
  });
  if (written === "unknown") return `${path}: no beneficiary with these identifiers (receipt_type "updated")`;
  if (!written.ok) return `${path}: ${written.reason}`;
  for (const { record: m, path: at } of converted.members) {
    const r = await write(store, m, "ibr_person", {
      updateOnly: false,
      id: options.newId(at),
      set: { group_id: written.externalId },
    });
    if (r !== "unknown" && !r.ok) return `${at}: ${r.reason} (the household was written)`;
  }
  return undefined;
}

type Written = { ok: true; externalId: string } | { ok: false; reason: string };

/**
 * Writes one input record of `storage`: merged into the stored record one of its identifiers names (read, merged
 * and written as one step of the store, so a concurrent update of the same record is not lost), else created
 * with `id` (unless `updateOnly`: "unknown"). `set` overrides fields either way. A record deleted between the
 * lookup and the write, or created by another request meanwhile, is looked up again (a bounded number of times).
 */
async function write(
  store: IbrStore,
  raw: Obj,
  storage: string,
  options: { updateOnly: boolean; id: string; set?: Obj },
): Promise<Written | "unknown"> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await findExisting(store, raw, storage);
    if (existing) {
      const r = await store.update(
        existing.externalId,
        (current) => ({ ...merge(current, raw), ...options.set }),
      );
      if (r === undefined) continue;
      return r.ok ? { ok: true, externalId: existing.externalId } : r;
    }
    if (options.updateOnly) return "unknown";
    // A new record gets an id of ours (a group's `@id` from the SP system is not ours to take).
    const r = await store.put({ ...raw, ...options.set, id: options.id });
    if (r.ok) return { ok: true, externalId: options.id };
    // Refused: when another request has just created it (its identifiers are taken), merge into that one.
    if (!await findExisting(store, raw, storage)) return r;
  }
  return { ok: false, reason: "changed by other writes while this update was applied: send it again" };
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
  // Identifiers add up: an SP system names a beneficiary by the ones it knows, the others stay (the reader keeps
  // one of each).
  for (const key of ["identifier", "group_identifier"]) {
    const had = inputOf(existing)[key];
    if (Array.isArray(had) && Array.isArray(update[key])) out[key] = [...had, ...update[key] as unknown[]];
  }
  // A household's member carries no enrolments: its details stay as they are.
  if (!isObj(update.details)) return out;
  const was = beneficiaryOf(existing.details);
  const incoming = update.details;
  const enrolments: Array<EnrolmentDetails | Obj> = [...(was.enrolments ?? [])];
  const at = new Map<unknown, number>();
  enrolments.forEach((e, i) => at.has(e.programme_identifier) || at.set(e.programme_identifier, i));
  for (const e of Array.isArray(incoming.enrolments) ? incoming.enrolments as Obj[] : []) {
    const i = at.get(e.programme_identifier);
    if (i !== undefined) enrolments[i] = e;
    else at.set(e.programme_identifier, enrolments.push(e) - 1);
  }
  out.details = {
    ...(incoming.assistance_unit ?? was.assistance_unit
      ? { assistance_unit: incoming.assistance_unit ?? was.assistance_unit }
      : {}),
    enrolments,
  };
  return out;
}
