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

/** The insert of one event: registry, event type, record type, registrant id, snapshot, created at. */
export const EVENT_INSERT =
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
  const r = stmt(db, EVENT_INSERT).run(
    e.registry,
    e.eventType,
    e.recordType,
    e.registrantId,
    snapshotJson,
    createdAt,
  );
  return Number(r.lastInsertRowid);
}

/** Event reads: after a cursor (all registries, or one), newest before a cursor, and the newest id. */
export const EVENTS_SQL = {
  after: `SELECT ${EVENT_COLUMNS} FROM registry_events e WHERE e.id > ? ORDER BY e.id LIMIT ?+0`,
  afterIn:
    `SELECT ${EVENT_COLUMNS} FROM registry_events e WHERE e.id > ? AND e.registry = ? ORDER BY e.id LIMIT ?+0`,
  recent:
    `SELECT ${EVENT_COLUMNS} FROM registry_events e WHERE e.id < ? AND e.registry = ? ORDER BY e.id DESC LIMIT ?+0`,
  lastId: "SELECT COALESCE(MAX(id), 0) AS id FROM registry_events",
};

/** The bound values of `listEventsAfter`'s statement (`EVENTS_SQL.after`, or `afterIn` with a registry). */
export function afterArgs(
  afterId: number,
  options: { limit?: number; registry?: string },
): Array<string | number> {
  const limit = Math.max(1, Math.min(options.limit ?? 500, 10_000));
  return options.registry === undefined ? [afterId, limit] : [afterId, options.registry, limit];
}

/** The bound values of `listRecentEvents`'s statement (`EVENTS_SQL.recent`). */
export function recentArgs(
  registry: string,
  options: { beforeId?: number; limit?: number },
): Array<string | number> {
  return [
    options.beforeId ?? Number.MAX_SAFE_INTEGER,
    registry,
    Math.max(1, Math.min(options.limit ?? 50, 1000)),
  ];
}

/** Events with id > `afterId`, oldest first (a subscription cursor reads with this). */
export function listEventsAfter(
  db: Db,
  afterId: number,
  options: { limit?: number; registry?: string } = {},
): RegistryEvent[] {
  const sql = options.registry === undefined ? EVENTS_SQL.after : EVENTS_SQL.afterIn;
  return (stmt(db, sql).all(...afterArgs(afterId, options)) as EventRow[]).map(eventOf);
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
  return (stmt(db, EVENTS_SQL.recent).all(...recentArgs(registry, options)) as EventRow[]).map(eventOf);
}

/** An event row as read. */
export type EventRow = Record<string, string | number>;

/** An event from its row. */
export function eventOf(r: EventRow): RegistryEvent {
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
  return Number((stmt(db, EVENTS_SQL.lastId).get() as { id: number }).id);
}
