/**
 * The checked single-record write on PostgreSQL for loads (store.ts `saveRegistrant`, rule for rule): written here
 * because helper h-regw's `pgSaveRegistrant` had not landed; the load store only calls `pgSaveRegistrant`.
 */
import type { PgClient } from "../db/pg/pool.ts";
import { pgOne, pgRun } from "../db/pg/query.ts";
import { InputError, type Registrant } from "./model.ts";
import type { RegistryEventType } from "./events.ts";
import { contactPairs } from "./contacts.ts";
import { valuePairs } from "./values.ts";
import { columnValues, isGroup, REGISTRANT_COLUMNS, registryOfRecordType, rememberGroup } from "./store.ts";
import { lockEvents } from "./pg_event_lock.ts";

const SQL = {
  byExternal: `SELECT r.id, d.data, r.deleted_at FROM registrants r JOIN registrant_data d ON d.id = r.id
    WHERE r.external_id = $1 AND r.registry = $2`,
  groupOf: "SELECT id, record_type, deleted_at FROM registrants WHERE external_id = $1 AND registry = $2",
  idOwner:
    "SELECT registrant_id AS rid FROM identifiers WHERE id_type = $1 AND id_value = $2 AND registry = $3 AND live = 1",
  insert: `INSERT INTO registrants (${REGISTRANT_COLUMNS}) VALUES
    ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20) RETURNING id`,
  update: `UPDATE registrants SET record_type=$1, external_id=$2, given_name=$3, second_name=$4, surname=$5,
    sex=$6, birth_date=$7, death_date=$8, locality=$9, region=$10, postal_code=$11, country=$12, group_id=$13,
    relationship=$14, group_type=$15, group_size=$16, poverty_score=$17, registration_date=$18, last_updated=$19,
    registry=$20, deleted_at=NULL WHERE id=$21`,
  dataInsert: "INSERT INTO registrant_data (id, data) VALUES ($1, $2)",
  dataUpdate: "UPDATE registrant_data SET data = $1 WHERE id = $2",
  materialise: `UPDATE registry_events SET snapshot = (SELECT data FROM registrant_data WHERE id = $1)
    WHERE registrant_id = $1 AND snapshot = ''`,
  idDelete: "DELETE FROM identifiers WHERE id_value = $1 AND id_type = $2 AND registrant_id = $3",
  idInsert:
    `INSERT INTO identifiers (id_value, id_type, registrant_id, live, registry) VALUES ($1, $2, $3, 1, $4)
    ON CONFLICT (id_value, id_type, registrant_id) DO UPDATE SET live = 1, registry = excluded.registry`,
  contactDelete: "DELETE FROM registrant_contacts WHERE kind = $1 AND value = $2 AND registrant_id = $3",
  contactInsert:
    "INSERT INTO registrant_contacts (kind, value, registrant_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
  valueDelete: "DELETE FROM registrant_values WHERE attr = $1 AND value = $2::jsonb AND registrant_id = $3",
  valueInsert:
    "INSERT INTO registrant_values (attr, value, registrant_id) VALUES ($1, $2::jsonb, $3) ON CONFLICT DO NOTHING",
  event: `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)`,
};

/** saveRegistrant on PostgreSQL, inside the caller's transaction on `client`. */
export async function pgSaveRegistrant(
  client: PgClient,
  reg: Registrant,
  options: { mode: "create" | "upsert"; now: string; groupIds?: Map<string, number> },
): Promise<{ id: number; eventType: RegistryEventType }> {
  const registry = registryOfRecordType(reg.recordType);
  const row = await pgOne<{ id: number; data: string; deleted_at: string | null }>(client, SQL.byExternal, [
    reg.externalId,
    registry,
  ]);
  const existing = row &&
    { ...(JSON.parse(row.data) as Registrant), id: Number(row.id), deleted: !!row.deleted_at };
  if (existing && !existing.deleted && options.mode === "create") {
    throw new InputError([`id: a registrant ${JSON.stringify(reg.externalId)} already exists`]);
  }
  if (existing && existing.recordType !== reg.recordType && !existing.deleted) {
    throw new InputError([`record_type: ${reg.externalId} is a ${existing.recordType}`]);
  }
  let groupId: number | null = null;
  if (reg.groupRef !== undefined) {
    groupId = options.groupIds?.get(reg.groupRef) ?? null;
    if (groupId === null) {
      const g = await pgOne<{ id: number; record_type: string; deleted_at: string | null }>(
        client,
        SQL.groupOf,
        [
          reg.groupRef,
          registry,
        ],
      );
      if (!g || g.deleted_at) {
        throw new InputError([`group_id: no household ${JSON.stringify(reg.groupRef)}`]);
      }
      if (!isGroup(g.record_type)) {
        throw new InputError([`group_id: ${JSON.stringify(reg.groupRef)} is not a group`]);
      }
      groupId = Number(g.id);
    }
  }
  for (const i of reg.identifiers) {
    const owner = await pgOne<{ rid: number }>(client, SQL.idOwner, [i.type, i.value, registry]);
    if (owner && Number(owner.rid) !== existing?.id) {
      throw new InputError([`identifier ${i.type} ${JSON.stringify(i.value)} belongs to another registrant`]);
    }
  }
  if (existing && !existing.deleted) reg.registrationDate = existing.registrationDate;
  const json = JSON.stringify(reg);
  const values = columnValues(reg, groupId);
  let id: number;
  await lockEvents(client);
  if (existing) {
    id = existing.id;
    await pgRun(client, SQL.update, [...values, id]);
    await pgRun(client, SQL.materialise, [id]);
    await pgRun(client, SQL.dataUpdate, [json, id]);
    for (const i of existing.identifiers) await pgRun(client, SQL.idDelete, [i.value, i.type, id]);
  } else {
    id = Number((await pgOne<{ id: number }>(client, SQL.insert, values))!.id);
    await pgRun(client, SQL.dataInsert, [id, json]);
  }
  for (const i of reg.identifiers) await pgRun(client, SQL.idInsert, [i.value, i.type, id, registry]);
  const before = existing ? contactPairs(existing) : [];
  for (let k = 0; k < before.length; k += 2) {
    await pgRun(client, SQL.contactDelete, [before[k], before[k + 1], id]);
  }
  const contacts = contactPairs(reg);
  for (let k = 0; k < contacts.length; k += 2) {
    await pgRun(client, SQL.contactInsert, [contacts[k], contacts[k + 1], id]);
  }
  const old = existing ? valuePairs(existing) : [];
  for (let k = 0; k < old.length; k += 2) {
    await pgRun(client, SQL.valueDelete, [old[k], JSON.stringify(old[k + 1]), id]);
  }
  const vals = valuePairs(reg);
  for (let k = 0; k < vals.length; k += 2) {
    await pgRun(client, SQL.valueInsert, [vals[k], JSON.stringify(vals[k + 1]), id]);
  }
  if (isGroup(reg.recordType) && options.groupIds) rememberGroup(options.groupIds, reg.externalId, id);
  const eventType: RegistryEventType = existing && !existing.deleted ? "update" : "registration";
  await pgRun(client, SQL.event, [registry, eventType, reg.recordType, id, json, options.now]);
  return { id, eventType };
}
