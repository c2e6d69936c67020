/** The registrant store: writes (each with its registry event) and reads. Callers own the transaction. */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { InputError, type Registrant } from "./model.ts";
import { recordEvent, type RegistryEventType } from "./events.ts";
import { contactPairs, writeContacts } from "./contacts.ts";

/** The registry this store holds (the other registry types are not implemented). */
export const STORE_REGISTRY = "social";

/** A stored registrant with its row id and deletion time. */
export interface StoredRegistrant extends Registrant {
  id: number;
  deletedAt?: string;
}

/** The registrant columns every writer fills, in `columnValues` order. */
export const REGISTRANT_COLUMNS =
  `record_type, external_id, given_name, second_name, surname, sex, birth_date, death_date,
  locality, region, postal_code, country, group_id, relationship, group_type, group_size, poverty_score,
  registration_date, last_updated`;
const JOINED = "SELECT r.id, d.data, r.deleted_at FROM registrants r JOIN registrant_data d ON d.id = r.id";

const SQL = {
  byExternal: `${JOINED} WHERE r.external_id = ?`,
  byId: `${JOINED} WHERE r.id = ?`,
  insert: `INSERT INTO registrants (${REGISTRANT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  dataInsert: "INSERT INTO registrant_data (id, data) VALUES (?, ?)",
  dataUpdate: "UPDATE registrant_data SET data = ? WHERE id = ?",
  // Lazy event snapshots ('' = the data as stored) get the data as it was before it changes.
  materialise: `UPDATE registry_events SET snapshot = (SELECT data FROM registrant_data WHERE id = ?)
    WHERE registrant_id = ? AND snapshot = ''`,
  update: `UPDATE registrants SET record_type=?, external_id=?, given_name=?, second_name=?, surname=?, sex=?,
    birth_date=?, death_date=?, locality=?, region=?, postal_code=?, country=?, group_id=?, relationship=?,
    group_type=?, group_size=?, poverty_score=?, registration_date=?, last_updated=?, deleted_at=NULL
    WHERE id=?`,
  idOwner: "SELECT registrant_id AS rid FROM identifiers WHERE id_type = ? AND id_value = ? AND live = 1",
  idInsert: "INSERT OR REPLACE INTO identifiers (id_value, id_type, registrant_id, live) VALUES (?, ?, ?, 1)",
  idDelete: "DELETE FROM identifiers WHERE id_value = ? AND id_type = ? AND registrant_id = ?",
  idKill: "UPDATE identifiers SET live = 0 WHERE id_value = ? AND id_type = ? AND registrant_id = ?",
  softDelete: "UPDATE registrants SET deleted_at = ?, last_updated = ? WHERE id = ?",
  groupOf: "SELECT id, record_type, deleted_at FROM registrants WHERE external_id = ?",
  members: `${JOINED} WHERE r.group_id = ? AND r.deleted_at IS NULL ORDER BY r.id`,
};

type Row = { id: number; data: string; deleted_at: string | null };

/** Rows with their data: `${REGISTRANT_SELECT} WHERE …` (columns id, data, deleted_at; alias r). */
export const REGISTRANT_SELECT = JOINED;

/** Parses a row into a stored registrant. */
export function fromRow(row: Row): StoredRegistrant {
  const reg = JSON.parse(row.data) as StoredRegistrant;
  reg.id = Number(row.id);
  if (row.deleted_at) reg.deletedAt = row.deleted_at;
  return reg;
}

/** The registrant with this external id (deleted ones included), or undefined. */
export function getRegistrant(db: Db, externalId: string): StoredRegistrant | undefined {
  const row = stmt(db, SQL.byExternal).get(externalId) as Row | undefined;
  return row ? fromRow(row) : undefined;
}

/** The registrant with this row id (deleted ones included), or undefined. */
export function getRegistrantById(db: Db, id: number): StoredRegistrant | undefined {
  const row = stmt(db, SQL.byId).get(id) as Row | undefined;
  return row ? fromRow(row) : undefined;
}

/** Live members of a group, in registration order. */
export function groupMembers(db: Db, groupId: number): StoredRegistrant[] {
  return (stmt(db, SQL.members).all(groupId) as Row[]).map(fromRow);
}

/**
 * Creates or replaces a registrant (by external id) and records the event, inside the caller's
 * transaction. `mode: "create"` refuses an existing live id. Throws InputError for conflicts.
 */
export function saveRegistrant(
  db: Db,
  reg: Registrant,
  options: { mode: "create" | "upsert"; now: string; registry?: string; groupIds?: Map<string, number> },
): { id: number; eventType: RegistryEventType } {
  const existing = getRegistrant(db, reg.externalId);
  if (existing && !existing.deletedAt && options.mode === "create") {
    throw new InputError([`id: a registrant ${JSON.stringify(reg.externalId)} already exists`]);
  }
  if (existing && existing.recordType !== reg.recordType && !existing.deletedAt) {
    throw new InputError([`record_type: ${reg.externalId} is a ${existing.recordType}`]);
  }
  const groupId = reg.groupRef === undefined
    ? null
    : options.groupIds?.get(reg.groupRef) ?? resolveGroup(db, reg.groupRef);
  checkIdentifiers(db, reg, existing?.id);
  if (existing && !existing.deletedAt) reg.registrationDate = existing.registrationDate;
  const json = JSON.stringify(reg);
  const values = columnValues(reg, groupId);
  let id: number;
  if (existing) {
    stmt(db, SQL.update).run(...values, existing.id);
    id = existing.id;
    stmt(db, SQL.materialise).run(id, id);
    stmt(db, SQL.dataUpdate).run(json, id);
    for (const i of existing.identifiers) stmt(db, SQL.idDelete).run(i.value, i.type, id);
  } else {
    id = Number(stmt(db, SQL.insert).run(...values).lastInsertRowid);
    stmt(db, SQL.dataInsert).run(id, json);
  }
  for (const i of reg.identifiers) stmt(db, SQL.idInsert).run(i.value, i.type, id);
  writeContacts(db, id, contactPairs(reg), existing ? contactPairs(existing) : []);
  if (reg.recordType === "group" && options.groupIds) rememberGroup(options.groupIds, reg.externalId, id);
  const eventType: RegistryEventType = existing && !existing.deletedAt ? "update" : "registration";
  recordEvent(
    db,
    { registry: options.registry ?? STORE_REGISTRY, eventType, recordType: reg.recordType, registrantId: id },
    json,
    options.now,
  );
  return { id, eventType };
}

/** Remembers a household saved during an import (bounded: the cache is dropped past 50,000 entries). */
export function rememberGroup(groupIds: Map<string, number>, externalId: string, id: number): void {
  if (groupIds.size > 50_000) groupIds.clear();
  groupIds.set(externalId, id);
}

/** Soft-deletes a live registrant and records the delete event with the record as it was. */
export function deleteRegistrant(
  db: Db,
  externalId: string,
  options: { now: string; registry?: string },
): StoredRegistrant | undefined {
  const existing = getRegistrant(db, externalId);
  if (!existing || existing.deletedAt) return undefined;
  const { id: _id, deletedAt: _d, ...asItWas } = existing;
  const before = JSON.stringify(asItWas);
  stmt(db, SQL.softDelete).run(options.now, options.now, existing.id);
  for (const i of existing.identifiers) stmt(db, SQL.idKill).run(i.value, i.type, existing.id);
  recordEvent(
    db,
    {
      registry: options.registry ?? STORE_REGISTRY,
      eventType: "delete",
      recordType: existing.recordType,
      registrantId: existing.id,
    },
    before,
    options.now,
  );
  return { ...existing, deletedAt: options.now };
}

function resolveGroup(db: Db, ref: string): number {
  const g = stmt(db, SQL.groupOf).get(ref) as
    | { id: number; record_type: string; deleted_at: string | null }
    | undefined;
  if (!g || g.deleted_at) throw new InputError([`group_id: no household ${JSON.stringify(ref)}`]);
  if (g.record_type !== "group") throw new InputError([`group_id: ${JSON.stringify(ref)} is not a group`]);
  return Number(g.id);
}

function checkIdentifiers(db: Db, reg: Registrant, selfId: number | undefined): void {
  const owners = stmt(db, SQL.idOwner);
  for (const i of reg.identifiers) {
    const owner = owners.get(i.type, i.value) as { rid: number } | undefined;
    if (owner && Number(owner.rid) !== selfId) {
      throw new InputError([`identifier ${i.type} ${JSON.stringify(i.value)} belongs to another registrant`]);
    }
  }
}

/** The values of `REGISTRANT_COLUMNS` for a registrant. */
export function columnValues(reg: Registrant, groupId: number | null): Array<string | number | null> {
  const a = reg.addresses[0] ?? {};
  return [
    reg.recordType,
    reg.externalId,
    reg.name.given_name ?? null,
    reg.name.second_name ?? null,
    reg.name.surname ?? null,
    reg.sex ?? null,
    reg.birthDate ?? null,
    reg.deathDate ?? null,
    a.locality ?? null,
    a.region_code ?? null,
    a.postal_code ?? null,
    a.country_code ?? null,
    groupId,
    reg.relationship ?? null,
    reg.groupType ?? null,
    reg.groupSize ?? null,
    reg.povertyScore ?? null,
    reg.registrationDate,
    reg.lastUpdated,
  ];
}

/** Live registrants by record type. */
export function registrantCounts(db: Db): { person: number; group: number; deleted: number } {
  const rows = stmt(
    db,
    `SELECT record_type AS t, deleted_at IS NOT NULL AS d, COUNT(*) AS n FROM registrants GROUP BY 1, 2`,
  ).all() as Array<{ t: string; d: number; n: number }>;
  const out = { person: 0, group: 0, deleted: 0 };
  for (const r of rows) {
    if (r.d) out.deleted += Number(r.n);
    else out[r.t as "person" | "group"] += Number(r.n);
  }
  return out;
}
