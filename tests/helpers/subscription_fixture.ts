/** A subscription to insert in store tests: an active, unfiltered one of sender "s1", unique per call. */
import type { NewSubscription } from "../../src/subscriptions/store.ts";
import type { SubscriptionStore } from "../../src/subscriptions/subscription_store.ts";
import type { Storage } from "../../src/db/storage.ts";

let seq = 0;

/** A new subscription (fresh dedupe key and correlation id each call) created at `now`, with `over` applied. */
export function newSubscription(now: string, over: Partial<NewSubscription> = {}): NewSubscription {
  seq++;
  return {
    sender_id: "s1",
    registry: "social",
    reg_type: null,
    reg_event_type: "registration",
    record_type: "person",
    notify_record_type: "person",
    filter_type: null,
    filter: null,
    frequency: null,
    dedupe_key: `k${seq}`,
    callback_url: "https://rx.example.org/notify",
    start_time: null,
    end_time: null,
    correlation_id: `c${seq}`,
    reference_id: "r1",
    locale: null,
    active: true,
    now,
    ...over,
  };
}

/** Registers sender `id` (its row alone) unless it exists: a subscription's insert refuses an unknown sender. */
export async function ensureSender(s: Storage, id: string): Promise<void> {
  if (await s.senders.get(id)) return;
  const at = "2026-01-01T00:00:00.000Z";
  // Inserts racing for one id (a test's concurrent subscribes): the one that lost finds the row.
  await s.senders.insert(id, { name: id, created_at: at, updated_at: at }).catch(async (err) => {
    if (!await s.senders.get(id)) throw err;
  });
}

/** `s.subscriptions`, its insert registering the subscription's sender first (ensureSender). */
export function subscriptionsOf(s: Storage): SubscriptionStore {
  return {
    ...s.subscriptions,
    insert: async (sub, limit) => {
      await ensureSender(s, sub.sender_id);
      return await s.subscriptions.insert(sub, limit);
    },
  };
}
