/**
 * The delivery lanes' own statements: a subscription's lease (one lane per subscription at a time, on any
 * instance), its failure count, the registry event a notify carries, the checks before a send (the one that
 * also reads the sender, and the one right before connecting), and where the notify goes. The interface the
 * lane uses, and its embedded SQLite implementation.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import type { SenderRow } from "../senders/sender_store.ts";
import type { NotifyEvent } from "./notifications.ts";

/** What the check before a send reads: the subscription's state, the row's status, the sender's standing. */
export interface LaneHoldRow {
  state: string;
  sender_id: string;
  status: string;
  /** senders.active (1/0), null when the sender is gone. */
  active: number | null;
}

/** The check before a send with the sender's row (undefined when the sender is gone), read together. */
export interface LaneSendCheck {
  hold: LaneHoldRow;
  sender?: SenderRow;
}

/** The statements both backends share word for word. */
export const LANE_SQL = {
  // Conditional: the lease is free or expired, so two workers never run one lane at once.
  claim: `UPDATE subscriptions SET lease_until = ? WHERE id = ? AND state = 'active'
       AND (lease_until IS NULL OR lease_until <= ?) RETURNING id`,
  // Fenced by the lease the lane holds (its exact lease_until): once another lane claimed the expired lease,
  // this one's renew finds nothing (it stops) and its release leaves the other's lease alone.
  renew: "UPDATE subscriptions SET lease_until = ? WHERE id = ? AND lease_until = ? RETURNING id",
  release: "UPDATE subscriptions SET lease_until = NULL WHERE id = ? AND lease_until = ?",
  releaseAll: "UPDATE subscriptions SET lease_until = NULL WHERE lease_until IS NOT NULL",
  clearFailures: "UPDATE subscriptions SET consecutive_failures = 0, last_error = NULL WHERE id = ?",
  recordFailure:
    `UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1, last_error = ?, updated_at = ?,
       state = CASE WHEN consecutive_failures + 1 >= ? THEN 'error' ELSE state END
     WHERE id = ? AND state = 'active' RETURNING state`,
  eventOf: `SELECT ${EVENT_SNAPSHOT} AS snapshot, e.created_at FROM registry_events e WHERE e.id = ?`,
  // One statement for the subscription, the notification and the sender's standing: it runs before every send.
  hold:
    `SELECT s.state, s.sender_id, n.status, (SELECT active FROM senders WHERE sender_id = s.sender_id) AS active
     FROM subscriptions s JOIN notifications n ON n.subscription_id = s.id WHERE s.id = ? AND n.id = ?`,
  // The same check with the sender's whole row, which the send then uses (envelope, URL, outbound
  // authentication): one statement where the check and the sender were two (sendCheckOf splits the row).
  sendCheck: `SELECT s.state AS hold_state, s.sender_id AS hold_sender_id, n.status AS hold_status, se.*
     FROM subscriptions s JOIN notifications n ON n.subscription_id = s.id
     LEFT JOIN senders se ON se.sender_id = s.sender_id WHERE s.id = ? AND n.id = ?`,
  setCallbackUrl: "UPDATE subscriptions SET callback_url = ? WHERE id = ?",
};

/** A subscription's delivery lane, as the lane (src/subscriptions/delivery.ts) and the notifier use it. */
export interface LaneStore {
  /** Takes the lane's lease until `until` if it is free or expired at `now` and the subscription active. */
  claim(subscriptionId: number, now: string, until: string): Promise<boolean>;
  /** Extends the lease this lane holds until `held` to `until`; false when it holds it no more (taken over). */
  renew(subscriptionId: number, held: string, until: string): Promise<boolean>;
  /** Gives the lease back, if this lane (holding it until `held`) still holds it. */
  release(subscriptionId: number, held: string): Promise<void>;
  /**
   * At worker start, frees the leases a previous run left: on SQLite every one (one worker process by design);
   * on PostgreSQL none (other instances hold live ones; a dead instance's lease expires). How many it freed.
   */
  releaseAll(): Promise<number>;
  /** Resets the consecutive failure count after a delivery. */
  clearFailures(subscriptionId: number): Promise<void>;
  /**
   * Counts a finally failed notification on an active subscription (error kept, at most 500 chars); at `limit`
   * it moves to error. The state after it, undefined when the subscription was no longer active.
   */
  recordFailure(
    subscriptionId: number,
    error: string,
    now: string,
    limit: number,
  ): Promise<string | undefined>;
  /** A registry event as a notify carries it, if it still exists. */
  eventOf(eventId: number): Promise<NotifyEvent | undefined>;
  /** The subscription, notification and sender standing the check before a send needs. */
  hold(subscriptionId: number, rowId: number): Promise<LaneHoldRow | undefined>;
  /** The same check, with the sender's row: what a lane reads before building a notify. */
  sendCheck(subscriptionId: number, rowId: number): Promise<LaneSendCheck | undefined>;
  /** Records where the subscription's notifications go now. */
  setCallbackUrl(subscriptionId: number, url: string): Promise<void>;
  /** The header.sender_uri of the subscribe request with this correlation id, if any. */
  subscribeUri(correlationId: string): Promise<string | undefined>;
}

const SUBSCRIBE_URI = `SELECT CASE WHEN json_valid(request_header)
    THEN json_extract(request_header, '$.sender_uri') END AS uri FROM transactions WHERE correlation_id = ?`;

/** The lanes in the embedded SQLite database. */
export function sqliteLaneStore(db: Db): LaneStore {
  const run = (sql: string, ...values: Array<string | number | null>) =>
    Promise.try(() => void stmt(db, sql).run(...values));
  return {
    claim: (id, now, until) => Promise.try(() => stmt(db, LANE_SQL.claim).get(until, id, now) !== undefined),
    renew: (id, held, until) =>
      Promise.try(() => stmt(db, LANE_SQL.renew).get(until, id, held) !== undefined),
    release: (id, held) => run(LANE_SQL.release, id, held),
    releaseAll: () => Promise.try(() => Number(stmt(db, LANE_SQL.releaseAll).run().changes)),
    clearFailures: (id) => run(LANE_SQL.clearFailures, id),
    recordFailure: (id, error, now, limit) =>
      Promise.try(() =>
        (stmt(db, LANE_SQL.recordFailure).get(error.slice(0, 500), now, limit, id) as
          | { state: string }
          | undefined)?.state
      ),
    eventOf: (eventId) =>
      Promise.try(() => stmt(db, LANE_SQL.eventOf).get(eventId) as NotifyEvent | undefined),
    hold: (id, rowId) => Promise.try(() => stmt(db, LANE_SQL.hold).get(id, rowId) as LaneHoldRow | undefined),
    sendCheck: (id, rowId) =>
      Promise.try(() => sendCheckOf(stmt(db, LANE_SQL.sendCheck).get(id, rowId) as SenderRow | undefined)),
    setCallbackUrl: (id, url) => run(LANE_SQL.setCallbackUrl, url, id),
    subscribeUri: (correlationId) =>
      Promise.try(() => {
        const uri = (stmt(db, SUBSCRIBE_URI).get(correlationId) as { uri: unknown } | undefined)?.uri;
        return typeof uri === "string" ? uri : undefined;
      }),
  };
}

/** A `LANE_SQL.sendCheck` row as the hold check and the sender's own row (both backends). */
export function sendCheckOf(row: SenderRow | undefined): LaneSendCheck | undefined {
  if (!row) return undefined;
  const { hold_state, hold_sender_id, hold_status, ...sender } = row;
  return {
    hold: {
      state: hold_state as string,
      sender_id: hold_sender_id as string,
      status: hold_status as string,
      active: (sender.active ?? null) as number | null,
    },
    sender: typeof sender.sender_id === "string" ? sender : undefined,
  };
}
