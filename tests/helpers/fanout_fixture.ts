/** Fan-out store tests' fixture: subscriptions, registrants and registry events written raw, and the log read back. */
import type { RawSql } from "./storage.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { NewSubscription } from "../../src/subscriptions/store.ts";
import type { FanOutOptions } from "../../src/subscriptions/fanout.ts";
import { createLogger } from "../../src/obs/log.ts";
import { newSubscription, subscriptionsOf } from "./subscription_fixture.ts";

/** When the records, subscriptions and events were made. */
export const T0 = "2026-06-01T00:00:00.000Z";
/** When fan-out runs. */
export const NOW = "2026-06-02T10:00:00.000Z";

/** Batch options at NOW with a fresh filter cache and a silent log (`lines` collects what it says). */
export function options(over: Partial<FanOutOptions> = {}, lines: string[] = []): FanOutOptions {
  return { now: NOW, cache: new Map(), log: createLogger("warn", { sink: (l) => lines.push(l) }), ...over };
}

/** An active subscription made now (its events after the newest event so far); its id. */
export async function subscribe(s: Storage, over: Partial<NewSubscription> = {}): Promise<number> {
  const r = await subscriptionsOf(s).insert(newSubscription(T0, over), 100);
  if (r.kind !== "created") throw new Error(r.kind);
  return r.row.id;
}

/** A registrant snapshot as the registry stores it (the registrant JSON). */
export function person(externalId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    externalId,
    recordType: "person",
    identifiers: [],
    name: { given_name: "Ana", surname: "Diaz" },
    sex: "female",
    birthDate: "1990-05-01",
    addresses: [],
    phones: [],
    emails: [],
    registrationDate: T0,
    lastUpdated: T0,
    attributes: {},
    ...over,
  };
}

/** A registrants row (the live record, which filters must not read in place of the snapshot); its id. */
export async function registrant(
  sql: RawSql,
  externalId: string,
  registry = "social",
  recordType = "person",
): Promise<number> {
  const rows = await sql(
    `INSERT INTO registrants (record_type, external_id, sex, registration_date, last_updated, registry)
     VALUES (?, ?, 'male', ?, ?, ?) RETURNING id`,
    [recordType, externalId, T0, T0, registry],
  );
  return Number(rows[0].id);
}

/** A registry event of `registrantId` with `snapshot`; its id. */
export async function event(
  sql: RawSql,
  registrantId: number,
  type: string,
  snapshot: Record<string, unknown>,
  at = T0,
  registry = "social",
): Promise<number> {
  const rows = await sql(
    `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
     VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
    [registry, type, String(snapshot.recordType), registrantId, JSON.stringify(snapshot), at],
  );
  return Number(rows[0].id);
}

/** The log: (subscription, event, type, due time) in id order. */
export async function logged(sql: RawSql): Promise<Array<[number, number, string, string]>> {
  const rows = await sql(
    "SELECT subscription_id, event_id, event_type, next_attempt_at FROM notifications ORDER BY id",
  );
  return rows.map((r) => [
    Number(r.subscription_id),
    Number(r.event_id),
    String(r.event_type),
    String(r.next_attempt_at),
  ]);
}
