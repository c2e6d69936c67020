/** A subscription to insert in store tests: an active, unfiltered one of sender "s1", unique per call. */
import type { NewSubscription } from "../../src/subscriptions/store.ts";

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
