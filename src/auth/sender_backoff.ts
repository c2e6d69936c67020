/**
 * Senders over their rate limit, noted per isolate so that their next requests are refused right after the
 * bearer check: before the body is read, parsed or its signature verified (a large signed envelope costs up
 * to ~100 ms of work that a refusal should not pay).
 *
 * The exact count stays in SQLite (src/senders/rate_limit.ts). A note is taken only from a refusal of that
 * exact count and lasts until its `retryAtMs`: usage only falls as time passes (other isolates can only add
 * to it), so until then the exact count would refuse every request of the sender as well, and a refused
 * request is never counted. A note applies only while the sender's limits are the ones it was taken under
 * (an operator raising them ends it), and lasts at most a minute, after which the exact count decides again:
 * that bounds what the one case the note cannot see (a sender removed and re-added under the same id, whose
 * day counter starts again) can cost.
 */
import type { RateDecision } from "../senders/rate_limit.ts";

/** The longest a note is trusted before the exact count is asked again. */
const MAX_NOTE_MS = 60_000;

interface Note {
  untilMs: number;
  minute: number;
  day: number;
  decision: RateDecision;
}

/** The per-isolate "over its limit until T" notes. */
export class SenderBackoff {
  readonly #notes = new Map<string, Note>();

  /** Records a refusal of the exact count (a decision with `allowed: false` and `retryAtMs`). */
  note(
    senderId: string,
    limits: { minute: number; day: number },
    decision: RateDecision,
    nowMs: number,
  ): void {
    if (decision.allowed || decision.retryAtMs === undefined) return;
    const untilMs = Math.min(decision.retryAtMs, nowMs + MAX_NOTE_MS);
    this.#notes.set(senderId, { untilMs, minute: limits.minute, day: limits.day, decision });
  }

  /** The refusal still in force for this sender under these limits at `nowMs`, or undefined. */
  check(senderId: string, limits: { minute: number; day: number }, nowMs: number): RateDecision | undefined {
    const n = this.#notes.get(senderId);
    if (!n) return undefined;
    if (nowMs >= n.untilMs) {
      this.#notes.delete(senderId);
      return undefined;
    }
    if (n.minute !== limits.minute || n.day !== limits.day) return undefined;
    const retryAfter = Math.max(1, Math.ceil((n.decision.retryAtMs! - nowMs) / 1000));
    return { ...n.decision, retryAfter };
  }
}
