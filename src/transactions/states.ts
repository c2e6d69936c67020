/** The transaction state machine, the DCI status it implies, and the callback retry schedule. */
import { asyncAction, type CallbackAction } from "../dci/actions.ts";

/** Actions handled asynchronously. */
export const TXN_ACTIONS = ["search", "subscribe", "unsubscribe", "txn-status", "receipt"] as const;

/** An async action. */
export type TxnAction = typeof TXN_ACTIONS[number];

/** Transaction states, in order. */
export const TXN_STATES = [
  "received",
  "pending",
  "processing",
  "succeeded",
  "rejected",
  "callback_sent",
  "callback_failed",
] as const;

/** A transaction state. */
export type TxnState = typeof TXN_STATES[number];

/** States after which nothing more happens (unless an operator retries a failed callback). */
export const TERMINAL_STATES: readonly TxnState[] = ["callback_sent", "callback_failed"];

/** Whether a transaction in `state` has its answer stored and its callback not yet sent (or an operator reopened it). */
export function callbackDue(state: TxnState | undefined): boolean {
  return state === "succeeded" || state === "rejected";
}

/**
 * The moves each state allows: the machine as the stores write it (each move is one conditional UPDATE from the
 * states it may leave, so another is not written). A bulk search reopened by `txn retry` goes from its outcome
 * back to `pending` (src/transactions/bulk_store.ts), its pages resumed.
 */
export const TRANSITIONS: Readonly<Record<TxnState, readonly TxnState[]>> = {
  received: ["pending", "processing"],
  pending: ["processing"],
  processing: ["succeeded", "rejected", "processing"],
  succeeded: ["callback_sent", "callback_failed", "pending"],
  rejected: ["callback_sent", "callback_failed", "pending"],
  callback_sent: [],
  callback_failed: ["succeeded", "rejected"],
};

/** True when the machine allows `from → to`. */
export function canMove(from: TxnState, to: TxnState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** DCI request status of a transaction: rcvd, pdng, or the processing outcome once there is one. */
export function dciStatus(
  state: TxnState,
  outcome: "succ" | "rjct" | null,
): "rcvd" | "pdng" | "succ" | "rjct" {
  if (state === "received") return "rcvd";
  if (state === "pending" || state === "processing") return "pdng";
  return outcome ?? "pdng";
}

/** The callback action answering an async action (from the action table). */
export function callbackAction(action: TxnAction): CallbackAction {
  return asyncAction(action).callbackAction;
}

/**
 * The retry schedule as a pure function: after failed attempt `attempt` (1-based), wait delays[attempt-1]
 * with ±10 % jitter (so receivers coming back up are not hit by every sender at once), or give up (null).
 */
export function retryDelay(
  delaysMs: readonly number[],
  random: () => number = Math.random,
): (attempt: number) => number | null {
  return (attempt) => {
    if (!Number.isInteger(attempt) || attempt < 1 || attempt > delaysMs.length) return null;
    const base = delaysMs[attempt - 1];
    return Math.max(0, Math.round(base * (0.9 + 0.2 * random())));
  };
}

/**
 * When a failed processing attempt (1-based) is tried again: 1 s, 5 s, 25 s, then every minute. A processor that
 * failed may have hit something passing (a held write lock, a full disk); the attempt limit bounds the retries.
 */
export function processRetryDelay(attempt: number): number {
  return Math.min(60_000, 1000 * 5 ** Math.max(0, attempt - 1));
}
