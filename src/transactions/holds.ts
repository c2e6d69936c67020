/**
 * Offboarding on the worker's side: a disabled sender's transactions wait (neither processed nor called back
 * until it is enabled); a deleted sender's are cancelled when the worker meets them (normally the delete
 * already did it, in the same SQLite transaction; this catches one accepted while the delete committed).
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { heldForSender, senderHold } from "../senders/pause.ts";
import { stmt } from "../db/statements.ts";
import { cancelOpenTransactions, type TxnRow } from "./store.ts";

/** True when the worker must leave this transaction alone now (and cancels it if its sender is gone). */
export function heldBySender(deps: Deps, row: Pick<TxnRow, "id" | "sender_id">): boolean {
  return heldForSender(
    deps.db,
    row.sender_id,
    (reason) => cancelOpenTransactions(deps.db, { id: row.id }, reason, isoNow(deps.clock)),
  );
}

/**
 * The check a claimed callback makes right before it is sent (after any wait for an outbound slot): why it
 * must not go out now, or undefined. Reads SQLite, so a disable in any isolate or process counts at once.
 */
export function callbackHold(deps: Deps, id: number, owner: string): string | undefined {
  const row = stmt(deps.db, "SELECT state, lease_owner, sender_id FROM transactions WHERE id = ?").get(id) as
    | Pick<TxnRow, "state" | "lease_owner" | "sender_id">
    | undefined;
  if (!row || (row.state !== "succeeded" && row.state !== "rejected") || row.lease_owner !== owner) {
    return "the callback is no longer due (cancelled)";
  }
  return senderHold(deps.db, row.sender_id);
}
