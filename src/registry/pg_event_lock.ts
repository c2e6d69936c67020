/**
 * The registry event cursor on PostgreSQL. `registry_events.id` comes from a sequence at insert, not at commit:
 * with two writers, a reader (fan-out's cursor, a subscriber's `after`) could see event 11 committed while 10 is
 * still open, move past 10, and never see it. So every PostgreSQL transaction that inserts registry events takes
 * this transaction-level advisory lock before its first insert: event writers commit one after another, in id
 * order. Every writer of registry_events on PostgreSQL (record writes, imports, bulk loads) calls `lockEvents`.
 */
import type { PgClient } from "../db/pg/pool.ts";

/** The advisory lock key of registry event writers ("dcie" in ASCII). */
export const EVENTS_LOCK_KEY = 0x64636965;

/** Takes the event writers' lock for the rest of `client`'s transaction (call inside a transaction). */
export async function lockEvents(client: PgClient): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock($1)", [EVENTS_LOCK_KEY]);
}
