/**
 * Admission, the last step of the auth chain: the sender's rate limits and the replay guard. The requests
 * that reach it within one event-loop turn are counted together, in order, as one write of the turn's group
 * commit (src/db/group_commit.ts): one usage read and one counter write per sender, whatever the batch size.
 * Each request still gets its own decision, exactly as if the batch had come one request after another.
 */
import type { Db } from "../db/sqlite.ts";
import type { Deps } from "../deps.ts";
import { groupCommit } from "../db/group_commit.ts";
import {
  countSenderRequests,
  type RateDecision,
  type SenderOutcome,
  type SenderRequest,
} from "../senders/rate_limit.ts";
import { guardReplay } from "./replay.ts";

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

/** This turn's requests and their shared outcome, per database. */
const batches = new WeakMap<Db, { requests: SenderRequest[]; outcomes: Promise<SenderOutcome[]> }>();

function count(deps: Deps, requests: SenderRequest[]): Promise<SenderOutcome[]> {
  return groupCommit(deps.db, () => {
    batches.delete(deps.db); // later requests start the next batch
    deps.metrics.observe(
      "dci_admission_batch_size",
      "Requests admitted per write transaction",
      {},
      requests.length,
      BATCH_BUCKETS,
    );
    return countSenderRequests(deps.db, requests, deps.clock.now());
  });
}

/**
 * Counts a request against its sender's limits and records (sender, message_id) in the replay guard; resolves
 * with the limit decision, or rejects with the replay guard's rejection (a refused request is not counted).
 */
export async function admit(
  deps: Deps,
  senderId: string,
  limits: { minute: number; day: number },
  header: Record<string, unknown>,
): Promise<RateDecision> {
  let batch = batches.get(deps.db);
  if (!batch) {
    const requests: SenderRequest[] = [];
    batches.set(deps.db, batch = { requests, outcomes: count(deps, requests) });
  }
  const { message_id: messageId, message_ts: messageTs } = header;
  const index = batch.requests.push({
    senderId,
    limits,
    admitted: typeof messageId === "string"
      ? () => guardReplay(deps, senderId, messageId, messageTs)
      : undefined,
  }) - 1;
  const outcome = (await batch.outcomes)[index];
  if ("error" in outcome) throw outcome.error;
  return outcome.decision;
}
