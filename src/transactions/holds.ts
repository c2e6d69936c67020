/**
 * Offboarding on the worker's side: a disabled sender's transactions wait (neither processed nor called back
 * until it is enabled); a deleted sender's are cancelled when the worker meets them (normally the delete
 * already did it, in the same transaction; this catches one accepted while the delete committed).
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { heldForSender, standingHold, standingOf } from "../senders/pause.ts";
import type { TxnRow } from "./store.ts";
import { callbackDue } from "./states.ts";

/** True when the worker must leave this transaction alone now (and cancels it if its sender is gone). */
export function heldBySender(deps: Deps, row: Pick<TxnRow, "id" | "sender_id">): Promise<boolean> {
  return heldForSender(
    deps,
    row.sender_id,
    (reason) => deps.storage.transactions.cancelOpen({ id: row.id }, reason, isoNow(deps.clock)),
  );
}

/**
 * The check a claimed callback makes right before it is sent (after any wait for an outbound slot): why it
 * must not go out now, or undefined. One statement (the transaction's state and lease, its sender's standing)
 * read from the database, so a disable in any isolate or process counts at once.
 */
export async function callbackHold(deps: Deps, id: number, owner: string): Promise<string | undefined> {
  const row = await deps.storage.transactions.leaseOf(id);
  if (!row || !callbackDue(row.state) || row.lease_owner !== owner) {
    return "the callback is no longer due (cancelled)";
  }
  return standingHold(row.sender_id, standingOf(row.active));
}
