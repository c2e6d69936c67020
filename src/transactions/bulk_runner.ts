/**
 * Running a bulk search: the lookups are read from the spool a page at a time (DCI_BULK_PAGE_SIZE), answered in
 * one batch, and the page stored together with the resumption point; pages are delivered in order as signed
 * `on-search` callbacks, each retried on its own (the callback retry schedule) while the next is being built.
 * The transaction row holds the lease and stays `processing` (txn/status `pdng`) until the last page is out.
 * A SIGKILL loses nothing: the restart resumes from the last stored page and re-sends a page that was in flight
 * (at-least-once, with the same message_id, as for any callback). A sender disabled mid-run holds the run
 * right before its next page would go out: the lease goes without counting an attempt, and the run resumes from
 * that page once the sender is enabled (a deleted sender's is cancelled).
 */
import type { Deps } from "../deps.ts";
import { canonicalMessage, signedEnvelopeText } from "../dci/envelope.ts";
import { deliverToSender } from "../senders/delivery.ts";
import { senderForDelivery } from "../senders/store.ts";
import { TEST_MODE_META } from "../senders/settings.ts";
import { standingHold } from "../senders/pause.ts";
import { heldBySender } from "./holds.ts";
import { currentCallbackUrl } from "./callback.ts";
import { callbackDue, processRetryDelay, retryDelay } from "./states.ts";
import type { TxnRow } from "./store.ts";
import { type Lookup, readSpoolPage } from "./bulk_file.ts";
import { duplicateReference } from "../registry/search_item.ts";
import type { BulkRow, PageRow } from "./bulk_store.ts";
import type { SpoolReader } from "./spool_store.ts";
import { isTransientStorageFault } from "../db/faults.ts";
import type { DeferredWrites } from "./deferred_writes.ts";

/** Answers one page of lookups as search_response items, in order (bound by the actions area). */
export type BulkLookup = (
  deps: Deps,
  registry: string,
  lookups: Array<{ ref: string; type: string; value: string }>,
) => Promise<Record<string, unknown>[]>;

/** A run stopped right before a page went out: its sender was disabled or deleted meanwhile. */
class RunHeld extends Error {}

/**
 * The longest retry wait a run sits out holding its lease and its slot (the worker runs two bulk searches at a
 * time); a longer one ends the run, which resumes with that page once it is due, so that a receiver that is down
 * holds no other search back.
 */
export const BULK_WAIT_IN_PLACE_MS = 5_000;

/**
 * Pages in a row that fail for good (each after its whole retry schedule) before a run stops with the rest unsent:
 * a receiver that is gone would otherwise take every page through its schedule (~7 minutes a page with the
 * default delays, days for a million lookups). The search ends callback_failed; `txn retry` resumes it.
 */
export const BULK_FAILED_IN_ROW = 3;

/** A run that left its slot while a page waits for its retry, due again at `at` (ms). */
class RunWaits extends Error {
  constructor(readonly at: number, page: number) {
    super(`page ${page} waits for its retry`);
  }
}

/**
 * The spool holds fewer lookups than the pages still to build: its file is gone or cut (on SQLite the spool is a
 * file beside the database, which backups do not copy, so a data dir restored from a backup lacks the files of
 * the bulk searches open then). Retrying cannot bring the lookups back: the search ends, its sender told why.
 */
class SpoolGone extends Error {
  constructor(page: number) {
    super(
      `The uploaded file's lookups from page ${page} on are gone from the server's spool (a data dir restored ` +
        `from a backup has no bulk upload files): send the file again`,
    );
  }
}

/** Runs bulk searches in this process. */
export interface BulkRunner {
  /** Runs (or resumes) the bulk search of `row`; false when `row` is not one. Never throws. */
  handle(row: TxnRow): Promise<boolean>;
}

/**
 * Keeps the lease `owner` holds on transaction `id` while work runs under it (a processor, a callback on the wire):
 * renewed every quarter of DCI_LEASE_SECONDS (a bulk run's too, beside its renewal before each page), so that
 * another instance never takes over work that is only slow. Stops at `stop()`, or once the lease is found lost.
 */
export function keepLease(deps: Deps, id: number, owner: string): { stop(): void } {
  const leaseMs = deps.config.leaseSeconds * 1000;
  let stopped = false;
  const renew = async () => {
    const now = deps.clock.now();
    const until = new Date(now + leaseMs).toISOString();
    // A write that failed (a held lock, a full disk) is tried again at the next tick, while the lease lasts.
    const kept = await Promise.try(() =>
      deps.storage.bulk.renewLease(id, owner, until, new Date(now).toISOString())
    ).catch(() => true);
    if (kept || stopped) return;
    stop();
    // A renewal that met the work's own end (its last write lets go of the lease, committed in the same turn
    // before the timer is stopped) finds no owner: not a lease lost to another instance.
    const holder = await Promise.try(() => deps.storage.transactions.leaseOf(id)).catch(() => undefined);
    if (holder && holder.lease_owner !== null) {
      deps.log.warn("transaction lease lost while its work ran", { id });
    }
  };
  const timer = setInterval(() => void renew(), leaseMs / 4);
  function stop(): void {
    stopped = true;
    clearInterval(timer);
  }
  return { stop };
}

/**
 * Creates the runner; `lookup` answers a page, `random` jitters the retry delays, `wake` asks for the run again
 * after `delayMs` (the worker's queue).
 */
export function createBulkRunner(
  deps: Deps,
  options: {
    lookup: BulkLookup;
    random?: () => number;
    wake?: (id: number, delayMs: number) => Promise<void>;
    /** The worker's deferred writes (a release that met a storage fault waits in them). */
    writes: DeferredWrites;
  },
): BulkRunner {
  const leaseMs = deps.config.leaseSeconds * 1000;
  const delay = retryDelay(deps.config.callbackRetryDelaysMs, options.random);
  const iso = (ms: number) => new Date(ms).toISOString();
  const running = new Set<number>();
  const store = deps.storage.bulk;

  async function run(row: TxnRow, owner: string): Promise<void> {
    const renew = async () => {
      const now = deps.clock.now();
      if (!await store.renewLease(row.id, owner, iso(now + leaseMs), iso(now))) throw new Error("lease lost");
    };
    const spoolName = (await store.get(row.id))!.spool;
    const spool = deps.storage.spools.reader(spoolName);
    // The messages of the pages this run built and has not sent yet (at most two): not read back from storage.
    const built = new Map<number, string>();
    let stopped = false;
    for (;;) {
      await renew();
      const bulk = (await store.get(row.id))!;
      const next = await store.firstPendingPage(row.id);
      // The next page is built while the current one is on the wire; at most two pages wait at any time.
      const build = bulk.pages_built < bulk.pages_total && (!next || next.page >= bulk.pages_built)
        ? buildPage(row, bulk, spool, built)
        : undefined;
      build?.catch(() => {}); // awaited below; a failure is not left unhandled meanwhile
      if (next) {
        const message = built.get(next.page) ?? await store.pageMessage(row.id, next.page) ?? "{}";
        built.delete(next.page);
        let delivered: boolean;
        try {
          delivered = await deliverPage(row, bulk, next, message, renew);
        } catch (err) {
          await build?.catch(() => {}); // the page being built is stored before the run lets go of its lease
          throw err;
        }
        stopped = !delivered && next.page >= BULK_FAILED_IN_ROW &&
          await store.failedBefore(row.id, next.page, BULK_FAILED_IN_ROW - 1) === BULK_FAILED_IN_ROW - 1;
      }
      if (build) await build;
      if (stopped || (!next && !build)) break;
    }
    const done = (await store.get(row.id))!;
    const unsent = done.pages_total - done.pages_sent - done.pages_failed;
    // Every page is out, or the run stopped: the pages listed as undelivered are the failed ones (and a built one
    // not sent), the failed ones named in the last_error.
    const failed = done.pages_failed ? (await store.progress(row.id))?.pages_undelivered : undefined;
    await store.finish(row.id, owner, {
      failedPages: done.pages_failed,
      failed,
      items: done.items_total,
      now: iso(deps.clock.now()),
      stopped: unsent > 0
        ? `stopped after ${BULK_FAILED_IN_ROW} pages in a row failed, ${unsent} of ${done.pages_total} pages ` +
          "not sent (txn retry resumes it)"
        : undefined,
    });
    // A search that stopped keeps its spool for the pages still to build (the orphan sweep leaves it too).
    if (unsent === 0) await deps.storage.spools.remove(spoolName);
    deps.log[unsent > 0 ? "warn" : "info"](unsent > 0 ? "bulk search stopped" : "bulk search finished", {
      correlation_id: row.correlation_id,
      items: done.items_total,
      pages: done.pages_total,
      pages_failed: done.pages_failed,
      pages_unsent: unsent,
    });
  }

  /** A page's answers in file order: a repeated reference_id refused as inline items are, the rest looked up. */
  async function answers(registry: string, lookups: Lookup[]): Promise<Record<string, unknown>[]> {
    const fresh = lookups.filter((l) => !l.duplicate);
    const found = fresh.length > 0 ? await options.lookup(deps, registry, fresh) : [];
    const now = deps.clock.now();
    let k = 0;
    return lookups.map((l) =>
      l.duplicate ? { ...duplicateReference({ reference_id: l.ref }, l.ref, now) } : found[k++]
    );
  }

  async function buildPage(
    row: TxnRow,
    bulk: BulkRow,
    spool: SpoolReader,
    built: Map<number, string>,
  ): Promise<void> {
    const { lookups, next } = await readSpoolPage(spool, bulk.next_offset, bulk.page_size);
    if (lookups.length === 0) throw new SpoolGone(bulk.pages_built + 1);
    const items = await answers(row.registry, lookups);
    const message = {
      transaction_id: row.transaction_id,
      correlation_id: row.correlation_id,
      search_response: items,
    };
    // Stored canonical (the form the signature hashes): each delivery attempt signs it without re-serialising.
    const text = canonicalMessage(message);
    const page = bulk.pages_built + 1;
    const stored = await store.storePage({
      txn: row.id,
      page,
      items: lookups.length,
      completed: bulk.items_done + lookups.length,
      message: text,
      nextOffset: next,
    });
    if (stored) built.set(page, text);
  }

  /** Sends a page until it is delivered (true) or fails for good (false); throws when it waits or is held. */
  async function deliverPage(
    row: TxnRow,
    bulk: BulkRow,
    page: PageRow,
    message: string,
    renew: () => Promise<void>,
  ): Promise<boolean> {
    for (let attempt = page.attempts + 1;; attempt++) {
      const found = await senderForDelivery(deps, row.sender_id);
      const sender = found?.sender;
      const body = signedEnvelopeText(deps, {
        action: "on-search",
        status: "succ",
        receiverId: row.sender_id,
        totalCount: bulk.items_total,
        completedCount: page.completed,
        messageId: page.message_id,
        meta: sender?.test_mode ? TEST_MODE_META : undefined,
      }, message);
      const outcome = await deliverToSender(
        deps,
        row.sender_id,
        await currentCallbackUrl(deps, row, sender),
        body,
        {
          headers: {
            "X-DCI-Transaction-ID": row.transaction_id,
            "X-DCI-Page": `${page.page}/${bulk.pages_total}`,
          },
          what: "callback URL",
          // Asked right before connecting, like every callback's: a disable in any isolate or process counts.
          hold: async () => standingHold(row.sender_id, await deps.storage.senders.standing(row.sender_id)),
          outbound: found?.outbound,
          callbackBase: sender?.callback_base_url ?? null,
          testMode: sender?.test_mode,
          logFields: { correlation_id: row.correlation_id, page: page.page },
        },
      );
      if (!outcome.ok && outcome.held) throw new RunHeld(outcome.error);
      const now = iso(deps.clock.now());
      const key = { txn: row.id, page: page.page, now };
      if (outcome.ok) {
        await store.recordPageAttempt({ ...key, outcome: "sent" });
        return true;
      }
      const wait = outcome.permanent ? null : delay(attempt);
      const error = outcome.error.slice(0, 500);
      await store.recordPageAttempt({ ...key, outcome: wait === null ? "failed" : "retry", error });
      deps.log.warn(wait === null ? "bulk page failed" : "bulk page retry scheduled", {
        correlation_id: row.correlation_id,
        page: page.page,
        attempts: attempt,
        error,
      });
      if (wait === null) return false;
      if (wait > BULK_WAIT_IN_PLACE_MS) throw new RunWaits(deps.clock.now() + wait, page.page);
      // Only this page waits and is tried again; the lease is kept alive meanwhile.
      for (let left = wait; left > 0; left -= leaseMs / 4) {
        await new Promise((r) => setTimeout(r, Math.min(left, leaseMs / 4)));
        await renew();
      }
    }
  }

  /**
   * Ends a search whose spool lost its lookups (rjct, the reason its status message). Never throws: when the end
   * cannot be stored (a storage fault), the lease lapses and the next run meets the lost spool again.
   */
  async function spoolGone(row: TxnRow, owner: string, err: SpoolGone): Promise<true> {
    const fields = { correlation_id: row.correlation_id, err };
    try {
      const bulk = await store.get(row.id);
      const ended = await store.finish(row.id, owner, {
        failedPages: 0,
        items: bulk?.items_total ?? 0,
        now: iso(deps.clock.now()),
        reason: err.message,
      });
      deps.log.error("bulk search ended: its spool lost its lookups", { ...fields, ended });
      if (ended && bulk) await deps.storage.spools.remove(bulk.spool).catch(() => {});
    } catch (fault) {
      deps.log.error(
        "bulk search's spool lost its lookups; its end not stored, retried when the lease lapses",
        {
          ...fields,
          fault,
        },
      );
    }
    return true;
  }

  return {
    async handle(row) {
      if (row.action !== "search" || !await store.get(row.id)) return false;
      if (running.has(row.id)) return true;
      // A failed one an operator retried (txn retry) comes back reopened: its failed pages go out again.
      if (callbackDue(row.state)) {
        await store.reopen(row.id, iso(deps.clock.now()));
      } else if (!["received", "pending", "processing"].includes(row.state)) return true;
      const owner = crypto.randomUUID();
      const now = deps.clock.now();
      const claimed = await deps.storage.transactions.claimProcessing(
        row.id,
        owner,
        iso(now),
        iso(now + leaseMs),
      );
      if (!claimed) return true;
      running.add(row.id);
      try {
        if (claimed.process_attempts > deps.config.processAttempts) {
          await store.finish(row.id, owner, {
            failedPages: 0,
            items: (await store.get(row.id))!.items_total,
            now: iso(now),
            reason:
              `Processing made no progress in ${deps.config.processAttempts} attempts; quote correlation_id ${row.correlation_id}`,
          });
          return true;
        }
        // Renewed on a timer too, not only between pages: one page's delivery (vetting, a slot, a token, the
        // request, each up to DCI_OUTBOUND_TIMEOUT_MS) may outlast the lease, and another instance would then
        // take the run over and send the same pages.
        const lease = keepLease(deps, row.id, owner);
        try {
          await run(claimed, owner);
        } finally {
          lease.stop();
        }
      } catch (err) {
        if (err instanceof SpoolGone) return await spoolGone(row, owner, err);
        // A store, page or lease write that met a storage fault that passes is our fault, not the search's.
        const fault = !(err instanceof RunHeld || err instanceof RunWaits) && isTransientStorageFault(err);
        if (err instanceof RunHeld || err instanceof RunWaits || fault) {
          // The lease goes (not counted as a processing attempt) until the run is due again: a page's retry time,
          // soon after a storage fault (resumed from its last stored page), or at once for a held one (the
          // due-work query leaves a disabled sender's work until it is enabled; a deleted sender's transaction is
          // cancelled here). A release that meets the fault itself waits in the deferred writes.
          const now = deps.clock.now();
          const due = err instanceof RunWaits ? err.at : fault ? now + processRetryDelay(1) : now;
          const reason = (err as Error).message;
          const released = await options.writes.run(
            row.id,
            "bulk search release",
            () =>
              deps.storage.transactions.releaseProcessing(row.id, owner, {
                error: fault ? `attempt not counted: ${reason}` : reason,
                retryAt: iso(due),
                now: iso(now),
                uncount: true,
              }),
          );
          if (err instanceof RunHeld) await heldBySender(deps, row);
          // A wake-up when the run is due: the due-work poll finds the run too, but only as a backstop.
          else if (released) {
            await options.wake?.(row.id, Math.max(0, due - deps.clock.now())).catch((e) =>
              deps.log.warn("bulk search wake-up not queued; the due-work poll resumes it", {
                correlation_id: row.correlation_id,
                err: e,
              })
            );
          }
          const fields = { correlation_id: row.correlation_id, reason };
          if (fault) deps.log.warn("bulk search met a storage fault; resumed soon, not counted", fields);
          else deps.log.info(err instanceof RunHeld ? "bulk search held" : "bulk search waits", fields);
        } else {
          // The lease lapses and the sweeper resumes the run from its last stored page.
          deps.log.error("bulk search step failed", { correlation_id: row.correlation_id, err });
        }
      } finally {
        running.delete(row.id);
      }
      return true;
    },
  };
}
