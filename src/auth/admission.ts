/**
 * Admission, the last step of the auth chain: the sender's rate limits and the replay guard, group-committed.
 * Requests that reach this step within one event-loop turn share one SQLite write transaction (flushed by
 * `setImmediate`, right after the turn's I/O callbacks; a zero-delay `setTimeout` waits about 2 ms here), so under load the commit, the usage read and the counter writes are paid once per batch
 * instead of once per request, and isolates take the database's write lock that many times less often. Each
 * request still gets its own decision, exactly as if the batch had come one request after another.
 */
import { setImmediate } from "node:timers";
import type { Db } from "../db/sqlite.ts";
import type { Deps } from "../deps.ts";
import { type RateDecision, takeSenderRequests } from "../senders/rate_limit.ts";
import { guardReplay } from "./replay.ts";

interface Waiting {
  senderId: string;
  limits: { minute: number; day: number };
  messageId: unknown;
  messageTs: unknown;
  resolve(decision: RateDecision): void;
  reject(err: unknown): void;
}

const waiting = new WeakMap<Db, Waiting[]>();
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

/**
 * Counts a request against its sender's limits and records (sender, message_id) in the replay guard; resolves
 * with the limit decision, or rejects with the replay guard's rejection (a refused request is not counted).
 */
export function admit(
  deps: Deps,
  senderId: string,
  limits: { minute: number; day: number },
  header: Record<string, unknown>,
): Promise<RateDecision> {
  return new Promise((resolve, reject) => {
    let batch = waiting.get(deps.db);
    if (!batch) {
      waiting.set(deps.db, batch = []);
      setImmediate(() => flush(deps));
    }
    batch.push({
      senderId,
      limits,
      messageId: header.message_id,
      messageTs: header.message_ts,
      resolve,
      reject,
    });
  });
}

function flush(deps: Deps): void {
  const batch = waiting.get(deps.db) ?? [];
  waiting.delete(deps.db);
  let outcomes;
  try {
    outcomes = takeSenderRequests(
      deps.db,
      batch.map((w) => ({
        senderId: w.senderId,
        limits: w.limits,
        admitted: typeof w.messageId === "string"
          ? () => guardReplay(deps, w.senderId, w.messageId as string, w.messageTs)
          : undefined,
      })),
      deps.clock.now(),
    );
  } catch (err) {
    for (const w of batch) w.reject(err);
    return;
  }
  deps.metrics.observe(
    "dci_admission_batch_size",
    "Requests admitted per write transaction",
    {},
    batch.length,
    BATCH_BUCKETS,
  );
  outcomes.forEach((o, i) => "error" in o ? batch[i].reject(o.error) : batch[i].resolve(o.decision));
}
