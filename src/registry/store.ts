/** The registrant store: writes (each with its registry event) and reads. Callers own the transaction. */
import { isDeepStrictEqual } from "node:util";
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { budgetTerm, wallClockBudget, withStatementBudget } from "../db/budget.ts";
import { type IdentifierValue, InputError, type Registrant } from "./model.ts";
import { recordEvent, type RegistryEventType } from "./events.ts";
import { contactPairs, writeContacts } from "./contacts.ts";
import { valuePairs, writeValues } from "./values.ts";
import { profileOf, recordTypeOfStorage } from "../registries/index.ts";
import { ensureRegistryIndexes } from "../registries/indexes.ts";
import { DciError } from "../dci/errors.ts";
import { BulkLoadStaged } from "../db/faults.ts";

/** The default registry (the one every caller that names none means). */
export const STORE_REGISTRY = "social";

/** The registry a storage record type belongs to (throws for one no registered profile declares). */
export function registryOfRecordType(recordType: string): string {
  const found = recordTypeOfStorage(recordType);
  if (!found) throw new InputError([`record_type: ${JSON.stringify(recordType)} belongs to no registry`]);
  return found.profile.name;
}

/** A stored registrant with its row id and deletion time. */
export interface StoredRegistrant extends Registrant {
  id: number;
  deletedAt?: string;
}

/** The registrant columns every writer fills, in `columnValues` order. */
export const REGISTRANT_COLUMNS =
  `record_type, external_id, given_name, second_name, surname, sex, birth_date, death_date,
  locality, region, postal_code, country, group_id, relationship, group_type, group_size, poverty_score,
  registration_date, last_updated, registry`;
const COLUMNS = REGISTRANT_COLUMNS.split(",").map((c) => c.trim());
/** Where group_id is among `columnValues`. */
const GROUP_AT = COLUMNS.indexOf("group_id");
/** `a=?, b=?, …` for an UPDATE of `columns`. */
const assignments = (columns: string[]) => columns.map((c) => `${c}=?`).join(", ");
const JOINED = "SELECT r.id, d.data, r.deleted_at FROM registrants r JOIN registrant_data d ON d.id = r.id";

/**
 * The most members of a group one read lists (a search answer's member_list, the admin view): nothing caps a
 * household's members, and listing 30,000 of them took 0.5 to 1.2 s and 11.7 MB an answer (search_members.ts).
 */
export const MAX_LISTED_MEMBERS = 100;

/** The statements of the registrant writes and reads (PostgreSQL runs them through `pgText`). */
export const SQL = {
  byExternal: `${JOINED} WHERE r.external_id = ? AND r.registry = ?`,
  byId: `${JOINED} WHERE r.id = ?`,
  insert: `INSERT INTO registrants (${REGISTRANT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  dataInsert: "INSERT INTO registrant_data (id, data) VALUES (?, ?)",
  dataUpdate: "UPDATE registrant_data SET data = ? WHERE id = ?",
  // Lazy event snapshots ('' = the data as stored) get the data as it was before it changes.
  materialise: `UPDATE registry_events SET snapshot = (SELECT data FROM registrant_data WHERE id = ?)
    WHERE registrant_id = ? AND snapshot = ''`,
  update: `UPDATE registrants SET ${assignments(COLUMNS)}, deleted_at=NULL WHERE id=?`,
  idOwner:
    "SELECT registrant_id AS rid FROM identifiers WHERE id_type = ? AND id_value = ? AND registry = ? AND live = 1",
  // An upsert, not INSERT OR REPLACE: see saveRegistrant.
  idInsert: `INSERT INTO identifiers (id_value, id_type, registrant_id, live, registry) VALUES (?, ?, ?, 1, ?)
    ON CONFLICT (id_value, id_type, registrant_id) DO UPDATE SET live = 1, registry = excluded.registry`,
  idDelete: "DELETE FROM identifiers WHERE id_value = ? AND id_type = ? AND registrant_id = ?",
  idKill: "UPDATE identifiers SET live = 0 WHERE id_value = ? AND id_type = ? AND registrant_id = ?",
  softDelete: "UPDATE registrants SET deleted_at = ?, last_updated = ? WHERE id = ?",
  groupOf: "SELECT id, record_type, deleted_at FROM registrants WHERE external_id = ? AND registry = ?",
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

/** The registrant of `registry` (social by default) with this external id (deleted ones included), or undefined. */
export function getRegistrant(
  db: Db,
  externalId: string,
  registry = STORE_REGISTRY,
): StoredRegistrant | undefined {
  const row = stmt(db, SQL.byExternal).get(externalId, registry) as Row | undefined;
  return row ? fromRow(row) : undefined;
}

/** The registrant with this row id (deleted ones included), or undefined. */
export function getRegistrantById(db: Db, id: number): StoredRegistrant | undefined {
  const row = stmt(db, SQL.byId).get(id) as Row | undefined;
  return row ? fromRow(row) : undefined;
}

/**
 * SQLite's statements of an update in place of `SQL.update` and `SQL.materialise`, none needing a statement
 * journal (see saveRegistrant): every column but group_id, which `regroup` sets only when it changes; the lazy
 * snapshots OR IGNORE, which ignores nothing, as the registrant it runs for was read joined to its data row.
 */
const SQLITE_UPDATE = {
  keepingGroup: `UPDATE registrants SET ${
    assignments(COLUMNS.filter((c) => c !== "group_id"))
  }, deleted_at=NULL WHERE id=?`,
  regroup: "UPDATE registrants SET group_id = ? WHERE id = ? AND group_id IS NOT ?",
  materialise: SQL.materialise.replace(/^UPDATE /, "UPDATE OR IGNORE "),
};

/** What a save did: the registrant's row id, its event, and `unchanged` when it wrote nothing. */
export interface SavedRegistrant {
  id: number;
  eventType: RegistryEventType;
  unchanged?: true;
}

/**
 * Whether `reg` holds what the live registrant `stored` does, its update time apart (as stored: JSON in the order
 * the model writes it). Then a save writes nothing and raises no event: a re-import of an unchanged file notifies
 * no subscriber of a million "updates", and the event log does not grow by a copy of every record.
 */
export function sameRecord(reg: Registrant, stored: StoredRegistrant): boolean {
  if (stored.deletedAt) return false;
  const { id: _id, deletedAt: _deletedAt, ...was } = stored;
  const now = JSON.stringify({ ...reg, lastUpdated: was.lastUpdated });
  const then = JSON.stringify(was);
  // The same text, or (the same length) the same values in another key order: details as a client ordered them.
  return now === then || (now.length === then.length && isDeepStrictEqual(JSON.parse(now), was));
}

/**
 * Creates or replaces a registrant (by external id, within its registry: the one its record type belongs to)
 * and records the event, inside the caller's transaction; a live registrant the save would not change is left as
 * it is, without an event (`unchanged`). `mode: "create"` refuses an existing live id. Throws InputError for
 * conflicts.
 */
export function saveRegistrant(
  db: Db,
  reg: Registrant,
  options: { mode: "create" | "upsert"; now: string; groupIds?: Map<string, number> },
): SavedRegistrant {
  refuseWhileStaged(db);
  const registry = registryOfRecordType(reg.recordType);
  ensureRegistryIndexes(db, registry);
  const existing = getRegistrant(db, reg.externalId, registry);
  checkExisting(reg, existing, options.mode);
  const groupId = reg.groupRef === undefined
    ? null
    : options.groupIds?.get(reg.groupRef) ?? resolveGroup(db, reg.groupRef, registry);
  checkIdentifiers(db, reg, registry, existing?.id);
  if (existing && !existing.deletedAt) reg.registrationDate = existing.registrationDate;
  if (existing && sameRecord(reg, existing)) return { id: existing.id, eventType: "update", unchanged: true };
  const json = JSON.stringify(reg);
  const values = columnValues(reg, groupId);
  let id: number;
  if (existing) {
    // No statement here may fail after it wrote (group_id named only when it changes, the lazy snapshots' update
    // OR IGNORE, the identifiers' upsert): one that may (an UPDATE of a foreign-key column, an UPDATE of many rows
    // with a NOT NULL column, an INSERT OR REPLACE) opens a statement journal, and inside an import chunk's
    // savepoint SQLite's in-memory sub-journal makes each such statement cost time in proportion to all the chunk
    // has written so far: re-importing 30,000 stored records in batches of 20,000 took 57 s instead of 3.4 s.
    id = existing.id;
    stmt(db, SQLITE_UPDATE.keepingGroup).run(...values.toSpliced(GROUP_AT, 1), id);
    stmt(db, SQLITE_UPDATE.regroup).run(groupId, id, groupId);
    stmt(db, SQLITE_UPDATE.materialise).run(id, id);
    stmt(db, SQL.dataUpdate).run(json, id);
    for (const i of existing.identifiers) stmt(db, SQL.idDelete).run(i.value, i.type, id);
  } else {
    id = Number(stmt(db, SQL.insert).run(...values).lastInsertRowid);
    stmt(db, SQL.dataInsert).run(id, json);
  }
  for (const i of reg.identifiers) stmt(db, SQL.idInsert).run(i.value, i.type, id, registry);
  writeContacts(db, id, contactPairs(reg), existing ? contactPairs(existing) : []);
  writeValues(db, id, valuePairs(reg), existing ? valuePairs(existing) : []);
  if (isGroup(reg.recordType) && options.groupIds) rememberGroup(options.groupIds, reg.externalId, id);
  const eventType = eventTypeOf(existing);
  recordEvent(
    db,
    { registry, eventType, recordType: reg.recordType, registrantId: id },
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

/** Soft-deletes a live registrant of `options.registry` (social by default) and records the delete event. */
export function deleteRegistrant(
  db: Db,
  externalId: string,
  options: { now: string; registry?: string },
): StoredRegistrant | undefined {
  refuseWhileStaged(db);
  const registry = options.registry ?? STORE_REGISTRY;
  const existing = getRegistrant(db, externalId, registry);
  if (!existing || existing.deletedAt) return undefined;
  stmt(db, SQL.softDelete).run(options.now, options.now, existing.id);
  for (const i of existing.identifiers) stmt(db, SQL.idKill).run(i.value, i.type, existing.id);
  const e = deleteEventOf(existing, registry);
  recordEvent(db, e.event, e.before, options.now);
  return { ...existing, deletedAt: options.now };
}

/** The delete event of live registrant `existing` of `registry`, and its snapshot: the record as it was. */
export function deleteEventOf(existing: StoredRegistrant, registry: string) {
  const { id: _id, deletedAt: _d, ...asItWas } = existing;
  return {
    event: {
      registry,
      eventType: "delete" as const,
      recordType: existing.recordType,
      registrantId: existing.id,
    },
    before: JSON.stringify(asItWas),
  };
}

/** Whether a storage record type is a group kind (`group`, `fr_group`, ...). */
export function isGroup(recordType: string): boolean {
  return recordType === "group" || recordTypeOfStorage(recordType)?.recordType.kind === "group";
}

/**
 * Refuses a registry write while a bulk load's rows wait in its stage tables (a first load running, or one cut
 * short and not yet finished by a start or another load): its records' identifiers are not in `identifiers` yet,
 * so a write could take one of them, or change a record whose staged rows the merge would bring back; the merge
 * would then fail at the next start. A load's own checked writes come after it merged what it staged.
 */
function refuseWhileStaged(db: Db): void {
  if (!stmt(db, STAGED).get()) return;
  throw new DciError("err.service.unavailable", BulkLoadStaged.MESSAGE, {
    status: 503,
    headers: { "Retry-After": "60" },
  });
}

/**
 * Throws BulkLoadStaged (a transient fault: an import job pauses and tries again) while a bulk load's rows wait in
 * its stage tables; called by a batch that does not stage, once it holds the write lock (no load stages more until
 * it commits).
 */
export function waitForStagedLoad(db: Db): void {
  if (stmt(db, STAGED).get()) throw new BulkLoadStaged();
}

const STAGED = `SELECT 1 FROM load_identifiers UNION ALL SELECT 1 FROM load_contacts
  UNION ALL SELECT 1 FROM load_values LIMIT 1`;

/**
 * The checks of a save against the stored record of the same external id: `mode: "create"` refuses a live one,
 * and a live one of another record type is refused whatever the mode.
 */
export function checkExisting(
  reg: Registrant,
  existing: StoredRegistrant | undefined,
  mode: "create" | "upsert",
): void {
  if (existing && !existing.deletedAt && mode === "create") {
    throw new InputError([`id: a registrant ${JSON.stringify(reg.externalId)} already exists`]);
  }
  if (existing && existing.recordType !== reg.recordType && !existing.deletedAt) {
    throw new InputError([`record_type: ${reg.externalId} is a ${existing.recordType}`]);
  }
}

/** The event a save records: an update of a live record, else a registration. */
export function eventTypeOf(existing: StoredRegistrant | undefined): RegistryEventType {
  return existing && !existing.deletedAt ? "update" : "registration";
}

/** A `SQL.groupOf` row. */
export type GroupRow = { id: number; record_type: string; deleted_at: string | null };

/** The row id of household `ref` from its `SQL.groupOf` row; InputError when it is missing, deleted or no group. */
export function householdId(g: GroupRow | undefined, ref: string): number {
  if (!g || g.deleted_at) throw new InputError([`group_id: no household ${JSON.stringify(ref)}`]);
  if (!isGroup(g.record_type)) throw new InputError([`group_id: ${JSON.stringify(ref)} is not a group`]);
  return Number(g.id);
}

/** InputError when identifier `i`'s live owner (a `SQL.idOwner` row) is another registrant than `selfId`. */
export function checkOwner(
  i: IdentifierValue,
  owner: { rid: number } | undefined,
  selfId: number | undefined,
): void {
  if (owner && Number(owner.rid) !== selfId) {
    throw new InputError([`identifier ${i.type} ${JSON.stringify(i.value)} belongs to another registrant`]);
  }
}

function resolveGroup(db: Db, ref: string, registry: string): number {
  return householdId(stmt(db, SQL.groupOf).get(ref, registry) as GroupRow | undefined, ref);
}

function checkIdentifiers(db: Db, reg: Registrant, registry: string, selfId: number | undefined): void {
  const owners = stmt(db, SQL.idOwner);
  for (const i of reg.identifiers) {
    checkOwner(i, owners.get(i.type, i.value, registry) as { rid: number } | undefined, selfId);
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
    registryOfRecordType(reg.recordType),
  ];
}

/**
 * Live and deleted registrants of a registry by record type: rows (t, live, deleted) for `countsOf`, bound to the
 * registry twice. The registry's entries of its two indexes (migrations 0041, 0042), in record type order: no
 * sort. `check` is a term every counted entry passes (SQLite's budget check).
 */
function countsSql(check: string): string {
  return `SELECT record_type AS t, COUNT(*) AS live, 0 AS deleted FROM registrants
    WHERE registry = ? AND deleted_at IS NULL${check} GROUP BY record_type
  UNION ALL SELECT record_type AS t, 0 AS live, COUNT(*) AS deleted FROM registrants
    WHERE registry = ? AND deleted_at IS NOT NULL${check} GROUP BY record_type`;
}

/** COUNTS_SQL as PostgreSQL runs it (its budget is the statement timeout). */
export const COUNTS_SQL = countsSql("");

/** COUNTS_SQL as SQLite runs it: each counted entry (one in 32) checks the statement budget, if one is set. */
export const SQLITE_COUNTS_SQL = countsSql(` AND ${budgetTerm("id")}`);

/**
 * Live registrants of `registry` (social by default) by storage record type, and the deleted ones. With a budget
 * (ms), the counting stops past it (BudgetExceeded): it reads an index entry per record.
 */
export function registrantCounts(
  db: Db,
  registry = STORE_REGISTRY,
  budgetMs?: number,
): Record<string, number> {
  return withStatementBudget(
    db,
    wallClockBudget(budgetMs),
    () => countsOf(registry, stmt(db, SQLITE_COUNTS_SQL).all(registry, registry) as CountRow[]),
  );
}

/** A `COUNTS_SQL` row. */
export type CountRow = { t: string; live: number; deleted: number };

/** The counts of `registry` from its `COUNTS_SQL` rows: every record type of its profile (0 when none), deleted. */
export function countsOf(registry: string, rows: CountRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const rt of profileOf(registry)?.recordTypes ?? []) out[rt.storage] = 0;
  out.deleted = 0;
  for (const r of rows) {
    out.deleted += Number(r.deleted);
    if (Number(r.live) > 0) out[r.t] = (out[r.t] ?? 0) + Number(r.live);
  }
  return out;
}
