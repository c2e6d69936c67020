/**
 * Retention of finished work: transactions past their callback (sent or failed) and notifications no longer
 * pending, older than DCI_TRANSACTION_RETENTION_DAYS / DCI_NOTIFICATION_RETENTION_DAYS, are deleted once a day
 * by the worker process. A transaction takes its references, callback attempts and bulk pages with it
 * (ON DELETE CASCADE); one an operator retried recently stays (its updated_at is recent). Then registry events
 * older than DCI_EVENT_RETENTION_DAYS that nothing reads any more (src/registry/event_retention.ts): after the
 * notifications, whose failed rows past retention no longer hold their events. Then ended subscriptions (cancelled
 * or expired) past DCI_SUBSCRIPTION_RETENTION_DAYS with no notification left, and finished registry import jobs
 * past DCI_IMPORT_RETENTION_DAYS with their rejected rows.
 */
import type { Deps } from "../deps.ts";

const DAY_MS = 86_400_000;

/** How many rows one retention run deleted. */
export interface RetentionRun {
  transactions: number;
  notifications: number;
  events: number;
  subscriptions: number;
  imports: number;
}

/**
 * Deletes finished transactions, notifications, needless events, ended subscriptions and finished import jobs past
 * their retention periods (0 days: kept forever).
 */
export async function purgeFinishedWork(deps: Deps): Promise<RetentionRun> {
  // One purge step per table: the cutoff computed once, 0 days skips.
  const purge = (days: number, step: (cutoff: string) => Promise<number>) =>
    days > 0 ? step(new Date(deps.clock.now() - days * DAY_MS).toISOString()) : Promise.resolve(0);
  const run: RetentionRun = {
    transactions: await purge(
      deps.config.transactionRetentionDays,
      (c) => deps.storage.transactions.purgeFinished(c),
    ),
    notifications: await purge(
      deps.config.notificationRetentionDays,
      (c) => deps.storage.notifications.purgeFinished(c),
    ),
    // After the notifications: a failed one past its retention no longer holds its event.
    events: await purge(deps.config.eventRetentionDays, (c) => deps.storage.registry.purgeEvents(c)),
    // After the notifications too: an ended subscription goes once none of its notifications is left.
    subscriptions: await purge(
      deps.config.subscriptionRetentionDays,
      (c) => deps.storage.subscriptions.purgeEnded(c),
    ),
    imports: await purge(deps.config.importRetentionDays, (c) => deps.storage.importJobs.purgeFinished(c)),
  };
  if (Object.values(run).some((n) => n > 0)) {
    deps.log.info("finished work past retention deleted", { ...run });
  }
  return run;
}

/** The cron entries of this area (SCHEDULES). */
export const RETENTION_SCHEDULES = [
  {
    name: "transaction-retention",
    catchUp: true as const,
    schedule: "37 3 * * *",
    run: async (deps: Deps) => void await purgeFinishedWork(deps),
  },
];
