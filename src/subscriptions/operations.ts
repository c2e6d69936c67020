/** Operator actions on subscriptions, shared by the admin API and the CLI. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import {
  approveSubscription,
  endSubscription,
  getSubscription,
  reactivateSubscription,
  type SubscriptionRow,
} from "./store.ts";
import { wakeNotifier } from "./notifier.ts";

/** Why an operator action was refused. */
export class SubscriptionOpError extends Error {
  constructor(readonly kind: "not_found" | "conflict", message: string) {
    super(message);
    this.name = "SubscriptionOpError";
  }
}

/** A subscription as shown to operators (JSON fields parsed). */
export function subscriptionView(row: SubscriptionRow): Record<string, unknown> {
  const { filter, frequency, lease_until: _l, dedupe_key: _d, ...rest } = row;
  return {
    ...rest,
    filter: filter ? JSON.parse(filter) : null,
    frequency: frequency ? JSON.parse(frequency) : null,
  };
}

function find(deps: Deps, code: string): SubscriptionRow {
  const row = getSubscription(deps.db, code);
  if (!row) throw new SubscriptionOpError("not_found", `No subscription "${code}"`);
  return row;
}

/** The subscription with this code, or SubscriptionOpError. */
export function showSubscription(deps: Deps, code: string): SubscriptionRow {
  return find(deps, code);
}

/** pending → active. */
export function approve(deps: Deps, code: string): SubscriptionRow {
  const row = find(deps, code);
  const done = approveSubscription(deps.db, code, isoNow(deps.clock));
  if (!done) throw new SubscriptionOpError("conflict", `Subscription "${code}" is ${row.state}, not pending`);
  deps.log.info("subscription approved", { subscription: code, sender_id: row.sender_id });
  wakeNotifier(deps);
  return done;
}

/** error → active; its waiting notifications resume in order. */
export function reactivate(deps: Deps, code: string): SubscriptionRow {
  const row = find(deps, code);
  const done = reactivateSubscription(deps.db, code, isoNow(deps.clock));
  if (!done) throw new SubscriptionOpError("conflict", `Subscription "${code}" is ${row.state}, not error`);
  deps.log.info("subscription reactivated", { subscription: code, sender_id: row.sender_id });
  wakeNotifier(deps);
  return done;
}

/** pending|active|error → cancelled (waiting notifications fail). */
export function cancel(deps: Deps, code: string): SubscriptionRow {
  const row = find(deps, code);
  const done = endSubscription(deps.db, row.id, "cancelled", isoNow(deps.clock), "operator");
  if (!done) throw new SubscriptionOpError("conflict", `Subscription "${code}" is already ${row.state}`);
  deps.log.info("subscription cancelled by operator", { subscription: code, sender_id: row.sender_id });
  return done;
}
