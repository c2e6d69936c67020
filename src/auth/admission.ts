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

interface Batch {
  requests: SenderRequest[];
  outcomes: Promise<SenderOutcome[]>;
}

/** The open batch (the one later requests join), per database. */
const batches = new WeakMap<Db, Batch>();

/** Later requests start the next batch. */
function close(db: Db, batch: Batch): void {
  if (batches.get(db) === batch) batches.delete(db);
}

function open(deps: Deps): Batch {
  const batch = { requests: [] as SenderRequest[] } as Batch;
  batch.outcomes = groupCommit(deps.db, () => {
    close(deps.db, batch);
    deps.metrics.observe(
      "dci_admission_batch_size",
      "Requests admitted per write transaction",
      {},
      batch.requests.length,
      BATCH_BUCKETS,
    );
    return countSenderRequests(deps.db, batch.requests, deps.clock.now());
  });
  // A group commit that failed before running the count (the write lock held elsewhere past the wait, a
  // failed BEGIN) fails only the requests in this batch: the next request opens a fresh one.
  batch.outcomes.catch(() => close(deps.db, batch));
  batches.set(deps.db, batch);
  return batch;
}

/**
 * Counts a request against its sender's limits and records (sender, message_id) in the replay guard; resolves
 * with the limit decision, or rejects with the replay guard's rejection (a refused request is not counted) or
 * with the group commit's failure (nothing of the batch is counted).
 */
export async function admit(
  deps: Deps,
  senderId: string,
  limits: { minute: number; day: number },
  header: Record<string, unknown>,
): Promise<RateDecision> {
  const batch = batches.get(deps.db) ?? open(deps);
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
