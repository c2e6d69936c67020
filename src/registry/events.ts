/** Registry change events: one row per change, written in the transaction of the change. */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { Registrant } from "./model.ts";
import { dciRecordOf } from "../registries/records.ts";

/** Event types. */
export type RegistryEventType = "registration" | "update" | "delete";

/** One registry event as read back. */
export interface RegistryEvent {
  id: number;
  registry: string;
  eventType: RegistryEventType;
  /** The storage record type. */
  recordType: string;
  registrantId: number;
  /** The DCI record after the change (for a delete: as it was). */
  record: Record<string, unknown>;
  /** The stored registrant the record was mapped from. */
  registrant: Registrant;
  createdAt: string;
}

const INSERT =
  `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
  VALUES (?, ?, ?, ?, ?, ?)`;

/**
 * The snapshot of event row `e` as SQL: a registration written by the import's fast path stores '' and reads
 * the registrant's data (unchanged since, or `saveRegistrant` would have copied it into the event first).
 */
export const EVENT_SNAPSHOT =
  "CASE WHEN e.snapshot = '' THEN (SELECT d.data FROM registrant_data d WHERE d.id = e.registrant_id) ELSE e.snapshot END";
const EVENT_COLUMNS =
  `e.id, e.registry, e.event_type, e.record_type, e.registrant_id, ${EVENT_SNAPSHOT} AS snapshot, e.created_at`;

/** Snapshots are stored compactly (the registrant JSON) and mapped to the DCI record when read. */
export function snapshotOf(json: string): { record: Record<string, unknown>; registrant: Registrant } {
  const registrant = JSON.parse(json) as Registrant;
  return { registrant, record: dciRecordOf(registrant) };
}

/** Records one event; call inside the transaction that makes the change. */
export function recordEvent(
  db: Db,
  e: { registry: string; eventType: RegistryEventType; recordType: string; registrantId: number },
  snapshotJson: string,
  createdAt: string,
): number {
  const r = stmt(db, INSERT).run(
    e.registry,
    e.eventType,
    e.recordType,
    e.registrantId,
    snapshotJson,
    createdAt,
  );
  return Number(r.lastInsertRowid);
}

/** Events with id > `afterId`, oldest first (a subscription cursor reads with this). */
export function listEventsAfter(
  db: Db,
  afterId: number,
  options: { limit?: number; registry?: string } = {},
): RegistryEvent[] {
  const limit = Math.max(1, Math.min(options.limit ?? 500, 10_000));
  const rows =
    (options.registry === undefined
      ? stmt(db, `SELECT ${EVENT_COLUMNS} FROM registry_events e WHERE e.id > ? ORDER BY e.id LIMIT ?+0`)
        .all(afterId, limit)
      : stmt(
        db,
        `SELECT ${EVENT_COLUMNS} FROM registry_events e WHERE e.id > ? AND e.registry = ? ORDER BY e.id LIMIT ?+0`,
      ).all(afterId, options.registry, limit)) as Array<Record<string, string | number>>;
  return rows.map(eventOf);
}

/**
 * A registry's events with id < `beforeId`, newest first (the console's recent changes): keyset pages that
 * read backwards from the newest event.
 */
export function listRecentEvents(
  db: Db,
  registry: string,
  options: { beforeId?: number; limit?: number } = {},
): RegistryEvent[] {
  const limit = Math.max(1, Math.min(options.limit ?? 50, 1000));
  const rows = stmt(
    db,
    `SELECT ${EVENT_COLUMNS} FROM registry_events e WHERE e.id < ? AND e.registry = ? ORDER BY e.id DESC LIMIT ?+0`,
  ).all(options.beforeId ?? Number.MAX_SAFE_INTEGER, registry, limit) as Array<
    Record<string, string | number>
  >;
  return rows.map(eventOf);
}

function eventOf(r: Record<string, string | number>): RegistryEvent {
  return {
    id: Number(r.id),
    registry: String(r.registry),
    eventType: r.event_type as RegistryEventType,
    recordType: String(r.record_type),
    registrantId: Number(r.registrant_id),
    ...snapshotOf(String(r.snapshot)),
    createdAt: String(r.created_at),
  };
}

/** The id of the newest event (0 when none): a new subscription's starting cursor. */
export function lastEventId(db: Db): number {
  const row = stmt(db, "SELECT COALESCE(MAX(id), 0) AS id FROM registry_events").get() as { id: number };
  return Number(row.id);
}
