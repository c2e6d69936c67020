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

/**
 * Request bodies (of the body limit's size at most) one sender may have read, parsed and verified at once in one
 * isolate before its admission counts them: the back-off's note is taken only from a refusal of the count, so a
 * burst arriving at once passes its check before any is counted, and a sender of 500 large badly signed envelopes
 * had all of them read and verified (up to ~100 ms each). Small requests (a search is a few KB) are never held back.
 */
export const BODIES_IN_FLIGHT = 8;

/** The per-isolate "over its limit until T" notes, and the request bytes each sender has on their way. */
export class SenderBackoff {
  readonly #notes = new Map<string, Note>();
  readonly #inFlight = new Map<string, number>();

  /**
   * Reserves `bytes` of request bodies on their way for `senderId` (read and verified before their admission counts
   * them), within `cap`: false when that would pass it. A sender with nothing on its way is always let in. Given
   * back by `release`.
   */
  reserve(senderId: string, bytes: number, cap: number): boolean {
    const now = this.#inFlight.get(senderId) ?? 0;
    if (now > 0 && now + bytes > cap) return false;
    this.#inFlight.set(senderId, now + bytes);
    return true;
  }

  /** Gives back what `reserve` took. */
  release(senderId: string, bytes: number): void {
    const left = (this.#inFlight.get(senderId) ?? bytes) - bytes;
    if (left > 0) this.#inFlight.set(senderId, left);
    else this.#inFlight.delete(senderId);
  }

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
