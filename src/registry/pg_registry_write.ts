/**
 * Registrant writes on PostgreSQL, inside the caller's transaction: `saveRegistrant` and `deleteRegistrant` of
 * store.ts with the same checks (shared), the same statements where both dialects agree (`pgText`), and each
 * list (identifiers, contacts, values) written in one statement over arrays instead of a statement per item.
 *
 * The caller takes the registry event lock (`lockEvents`, pg_event_lock.ts) once per transaction, BEFORE the
 * first of these calls: event writers then run one after another from their checks to their commit, so a check
 * (a live external id, an identifier's owner) cannot be passed by two instances at once, and no writer waits for
 * the event lock while holding a row another writer needs.
 */
import type { PgClient } from "../db/pg/pool.ts";
import { pgAll, pgOne, type PgQueryable, pgRun, pgText } from "../db/pg/query.ts";
import type { Registrant } from "./model.ts";
import { EVENT_INSERT } from "./events.ts";
import { contactPairs } from "./contacts.ts";
import { valuePairs } from "./values.ts";
import {
  checkExisting,
  checkOwner,
  columnValues,
  deleteEventOf,
  eventTypeOf,
  fromRow,
  type GroupRow,
  householdId,
  isGroup,
  registryOfRecordType,
  rememberGroup,
  sameRecord,
  type SavedRegistrant,
  SQL,
  STORE_REGISTRY,
  type StoredRegistrant,
} from "./store.ts";
import { pgEnsureRegistryIndexes } from "../registries/pg_indexes.ts";

type Row = { id: number; data: string; deleted_at: string | null };

const LIST_SQL = {
  // SQL.idOwner for every identifier at once: (type, value, owner).
  idOwners: `SELECT i.id_type AS t, i.id_value AS v, i.registrant_id AS rid
    FROM identifiers i JOIN unnest($1::text[], $2::text[]) AS x (t, v) ON i.id_type = x.t AND i.id_value = x.v
    WHERE i.registry = $3 AND i.live = 1`,
  idInsert: `INSERT INTO identifiers (id_value, id_type, registrant_id, live, registry)
    SELECT DISTINCT v, t, $3::bigint, 1, $4::text FROM unnest($1::text[], $2::text[]) AS x (v, t)
    ON CONFLICT (id_value, id_type, registrant_id) DO UPDATE SET live = 1, registry = excluded.registry`,
  idDelete: `DELETE FROM identifiers WHERE registrant_id = $3
    AND (id_value, id_type) IN (SELECT v, t FROM unnest($1::text[], $2::text[]) AS x (v, t))`,
  idKill: `UPDATE identifiers SET live = 0 WHERE registrant_id = $3
    AND (id_value, id_type) IN (SELECT v, t FROM unnest($1::text[], $2::text[]) AS x (v, t))`,
  contactDelete: `DELETE FROM registrant_contacts WHERE registrant_id = $3
    AND (kind, value) IN (SELECT k, v FROM unnest($1::text[], $2::text[]) AS x (k, v))`,
  contactInsert: `INSERT INTO registrant_contacts (kind, value, registrant_id)
    SELECT k, v, $3::bigint FROM unnest($1::text[], $2::text[]) AS x (k, v) ON CONFLICT DO NOTHING`,
  // registrant_values.value is jsonb: a string value stays a JSON string (to_jsonb of text), a number a JSON
  // number (to_jsonb of numeric), as SQLite's untyped column keeps each.
  valueDelete: `DELETE FROM registrant_values WHERE registrant_id = $5 AND (attr, value) IN (
    SELECT a, to_jsonb(v) FROM unnest($1::text[], $2::text[]) AS s (a, v)
    UNION ALL SELECT a, to_jsonb(v) FROM unnest($3::text[], $4::numeric[]) AS n (a, v))`,
  valueInsert: `INSERT INTO registrant_values (attr, value, registrant_id)
    SELECT a, to_jsonb(v), $5::bigint FROM unnest($1::text[], $2::text[]) AS s (a, v)
    UNION ALL SELECT a, to_jsonb(v), $5::bigint FROM unnest($3::text[], $4::numeric[]) AS n (a, v)
    ON CONFLICT DO NOTHING`,
};

/** The registrant of `registry` with this external id (deleted ones included), or undefined. */
export async function pgGetRegistrant(
  db: PgQueryable,
  externalId: string,
  registry: string,
): Promise<StoredRegistrant | undefined> {
  const row = await pgOne<Row>(db, pgText(SQL.byExternal), [externalId, registry]);
  return row ? fromRow(row) : undefined;
}

/**
 * Creates or replaces a registrant and records its event, inside the caller's transaction, exactly as
 * `saveRegistrant` (store.ts): the same InputErrors, the lazy snapshots of the record materialised before its
 * data changes. The caller holds the event lock (see above).
 */
export async function pgSaveRegistrant(
  client: PgClient,
  reg: Registrant,
  options: { mode: "create" | "upsert"; now: string; groupIds?: Map<string, number> },
): Promise<SavedRegistrant> {
  const registry = registryOfRecordType(reg.recordType);
  await pgEnsureRegistryIndexes(client, registry);
  const existing = await pgGetRegistrant(client, reg.externalId, registry);
  checkExisting(reg, existing, options.mode);
  const groupId = reg.groupRef === undefined ? null : options.groupIds?.get(reg.groupRef) ??
    householdId(await pgOne<GroupRow>(client, pgText(SQL.groupOf), [reg.groupRef, registry]), reg.groupRef);
  await checkOwners(client, reg, registry, existing?.id);
  if (existing && !existing.deletedAt) reg.registrationDate = existing.registrationDate;
  if (existing && sameRecord(reg, existing)) return { id: existing.id, eventType: "update", unchanged: true };
  const json = JSON.stringify(reg);
  const values = columnValues(reg, groupId);
  let id: number;
  if (existing) {
    id = existing.id;
    await pgRun(client, pgText(SQL.update), [...values, id]);
    await pgRun(client, pgText(SQL.materialise), [id, id]);
    await pgRun(client, pgText(SQL.dataUpdate), [json, id]);
    await identifiers(client, LIST_SQL.idDelete, existing, [id]);
  } else {
    id = (await pgOne<{ id: number }>(client, `${pgText(SQL.insert)} RETURNING id`, values))!.id;
    await pgRun(client, pgText(SQL.dataInsert), [id, json]);
  }
  await identifiers(client, LIST_SQL.idInsert, reg, [id, registry]);
  await writePairs(client, id, contactPairs(reg), existing ? contactPairs(existing) : []);
  await writeValuePairs(client, id, valuePairs(reg), existing ? valuePairs(existing) : []);
  if (isGroup(reg.recordType) && options.groupIds) rememberGroup(options.groupIds, reg.externalId, id);
  const eventType = eventTypeOf(existing);
  await pgRun(client, pgText(EVENT_INSERT), [registry, eventType, reg.recordType, id, json, options.now]);
  return { id, eventType };
}

/**
 * Soft-deletes a live registrant and records the delete event, inside the caller's transaction (which holds the
 * event lock), exactly as `deleteRegistrant`; undefined when there is no live one.
 */
export async function pgDeleteRegistrant(
  client: PgClient,
  externalId: string,
  options: { now: string; registry?: string },
): Promise<StoredRegistrant | undefined> {
  const registry = options.registry ?? STORE_REGISTRY;
  const existing = await pgGetRegistrant(client, externalId, registry);
  if (!existing || existing.deletedAt) return undefined;
  await pgRun(client, pgText(SQL.softDelete), [options.now, options.now, existing.id]);
  await identifiers(client, LIST_SQL.idKill, existing, [existing.id]);
  const { event: e, before } = deleteEventOf(existing, registry);
  await pgRun(client, pgText(EVENT_INSERT), [
    registry,
    e.eventType,
    e.recordType,
    e.registrantId,
    before,
    options.now,
  ]);
  return { ...existing, deletedAt: options.now };
}

/** `checkIdentifiers` (store.ts) in one query: the first identifier, in the record's order, another holds. */
async function checkOwners(client: PgClient, reg: Registrant, registry: string, selfId: number | undefined) {
  if (reg.identifiers.length === 0) return;
  const owners = await pgAll<{ t: string; v: string; rid: number }>(client, LIST_SQL.idOwners, [
    reg.identifiers.map((i) => i.type),
    reg.identifiers.map((i) => i.value),
    registry,
  ]);
  const ownerOf = new Map(owners.map((o) => [`${o.t}\u0000${o.v}`, o]));
  for (const i of reg.identifiers) checkOwner(i, ownerOf.get(`${i.type}\u0000${i.value}`), selfId);
}

/** Runs `sql` over a registrant's identifiers (values $1, types $2) and `more` ($3…). */
async function identifiers(client: PgClient, sql: string, reg: Registrant, more: Array<string | number>) {
  if (reg.identifiers.length === 0) return;
  await pgRun(client, sql, [
    reg.identifiers.map((i) => i.value),
    reg.identifiers.map((i) => i.type),
    ...more,
  ]);
}

/** `writeContacts` (contacts.ts): removes the replaced record's contacts, adds the new ones. */
async function writePairs(client: PgClient, id: number, pairs: string[], before: string[]): Promise<void> {
  const split = (p: string[]) => [p.filter((_, k) => k % 2 === 0), p.filter((_, k) => k % 2 === 1)];
  if (before.length > 0) await pgRun(client, LIST_SQL.contactDelete, [...split(before), id]);
  if (pairs.length > 0) await pgRun(client, LIST_SQL.contactInsert, [...split(pairs), id]);
}

/** `writeValues` (values.ts): removes the replaced record's values, adds the new ones, each kept as its type. */
async function writeValuePairs(
  client: PgClient,
  id: number,
  pairs: Array<string | number>,
  before: Array<string | number>,
): Promise<void> {
  const split = (p: Array<string | number>) => {
    const out: [string[], string[], string[], number[]] = [[], [], [], []];
    for (let k = 0; k < p.length; k += 2) {
      const v = p[k + 1];
      if (typeof v === "number") out[2].push(String(p[k])), out[3].push(v);
      else out[0].push(String(p[k])), out[1].push(v);
    }
    return out;
  };
  if (before.length > 0) await pgRun(client, LIST_SQL.valueDelete, [...split(before), id]);
  if (pairs.length > 0) await pgRun(client, LIST_SQL.valueInsert, [...split(pairs), id]);
}
