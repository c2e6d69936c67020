/**
 * `dci-server subscription list|show|approve|cancel|reactivate|create|import` and
 * `dci-server notification list|retry`.
 */
import { CliFailure, type Command, type CommandTree, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import { BEFORE_OPTION, beforeOf, printPage } from "./paging.ts";
import { SUBSCRIPTION_STATES, type SubscriptionRow } from "../subscriptions/store.ts";
import { NOTIFICATION_STATUSES } from "../subscriptions/notifications.ts";
import {
  approve,
  cancel,
  reactivate,
  retryNotification,
  retrySubscriptionNotifications,
  showSubscription,
  SubscriptionOpError,
  subscriptionView,
} from "../subscriptions/operations.ts";
import type { Deps } from "../deps.ts";
import { subscriptionSeedCommands } from "./subscription_seed.ts";

function limitOf(raw: unknown): number {
  const limit = Number(raw ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError("--limit must be 1..1000");
  return limit;
}

const list: Command = {
  summary: "List subscriptions, newest first",
  usage: "[--state S] [--sender ID] [--limit N] [--before N]",
  options: {
    state: { type: "string", description: `Only this state (${SUBSCRIPTION_STATES.join("|")})` },
    sender: { type: "string", description: "Only this sender_id" },
    limit: { type: "string", description: "At most this many rows (default 50)" },
    before: BEFORE_OPTION,
  },
  examples: ["subscription list --state pending", "subscription list --sender spmis.example --json"],
  run: ({ config, values, print }) => {
    const state = values.state as string | undefined;
    if (state && !(SUBSCRIPTION_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`unknown state "${state}"`);
    }
    const limit = limitOf(values.limit);
    const before = beforeOf(values.before);
    return withDeps(config(), async (deps) => {
      const rows = await deps.storage.subscriptions.list({
        state,
        sender: values.sender as string | undefined,
        before,
        limit,
      });
      printPage(print, rows, limit, (rows, page) =>
        print.list(rows, [
          "code",
          "sender_id",
          "state",
          "reg_event_type",
          "record_type",
          "filter_type",
          "consecutive_failures",
          "end_time",
          "created_at",
        ], { items: rows.map(subscriptionView), ...page }));
    });
  },
};

/** Runs an operation, turning a refusal into exit code 1 with its message. */
async function op<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SubscriptionOpError) throw new CliFailure(err.message);
    throw err;
  }
}

function byCode(
  summary: string,
  fn: (deps: Deps, code: string) => Promise<SubscriptionRow>,
  options: { verb?: string; examples: string[] },
): Command {
  return {
    summary,
    usage: "CODE",
    args: [1, 1],
    examples: options.examples,
    run: ({ config, positionals, print }) =>
      withDeps(config(), async (deps) => {
        const row = await op(() => fn(deps, positionals[0]));
        if (options.verb) {
          print.done(`${options.verb}: ${row.code} (state ${row.state})`, subscriptionView(row));
        } else print.show(subscriptionView(row));
      }),
  };
}

const subscriptionReactivate: Command = {
  summary: "Reactivate a subscription in error (its undelivered notifications are re-sent, in order)",
  usage: "CODE",
  args: [1, 1],
  examples: ["subscription reactivate 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37"],
  run: ({ config, positionals, print }) =>
    withDeps(config(), async (deps) => {
      const { row, resent } = await op(() => reactivate(deps, positionals[0]));
      print.done(
        `reactivated: ${row.code} (state ${row.state}), re-sending ${resent} undelivered notification(s)`,
        { ...subscriptionView(row), resent_notifications: resent },
      );
    }),
};

const notificationRetry: Command = {
  summary: "Re-send a failed notification, or every failed one of a subscription (the notifier sends them)",
  usage: "NOTIFICATION_ID | --subscription CODE",
  args: [0, 1],
  options: {
    subscription: { type: "string", description: "Every failed notification of this subscription" },
  },
  examples: [
    "notification retry 5c9a0e31-2b7d-4c6f-8e14-9a3b7d2f0c58",
    "notification retry --subscription 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37 --json",
  ],
  run: ({ config, positionals, values, print }) => {
    const code = values.subscription as string | undefined;
    if ((code === undefined) === (positionals.length === 0)) {
      throw new UsageError("give either a NOTIFICATION_ID or --subscription CODE");
    }
    return withDeps(config(), async (deps) => {
      if (code === undefined) {
        const n = await op(() => retryNotification(deps, positionals[0]));
        print.done(
          `notification retry scheduled: ${n.notification_id} (subscription ${n.subscription_code})`,
          n,
        );
        return;
      }
      const { row, retried } = await op(() => retrySubscriptionNotifications(deps, code));
      print.done(`re-sending ${retried} failed notification(s) of ${row.code}`, {
        subscription: row.code,
        state: row.state,
        retried,
      });
    });
  },
};

const notificationList: Command = {
  summary: "List the notification log, newest first",
  usage: "[--subscription CODE] [--status S] [--since ISO] [--until ISO] [--limit N] [--before N]",
  options: {
    subscription: { type: "string", description: "Only this subscription code" },
    status: { type: "string", description: `Only this status (${NOTIFICATION_STATUSES.join("|")})` },
    since: { type: "string", description: "Created at or after this ISO 8601 time" },
    until: { type: "string", description: "Created before this ISO 8601 time" },
    limit: { type: "string", description: "At most this many rows (default 50)" },
    before: BEFORE_OPTION,
  },
  examples: [
    "notification list --status failed",
    "notification list --subscription 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37 --since 2026-11-01T00:00:00Z --json",
  ],
  run: ({ config, values, print }) => {
    const status = values.status as string | undefined;
    if (status && !(NOTIFICATION_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`unknown status "${status}"`);
    }
    const time = (flag: string) => {
      const v = values[flag] as string | undefined;
      if (v === undefined) return undefined;
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw new UsageError(`--${flag} must be an ISO 8601 time`);
      return new Date(ms).toISOString();
    };
    const since = time("since");
    const until = time("until");
    const limit = limitOf(values.limit);
    const before = beforeOf(values.before);
    return withDeps(config(), async (deps) => {
      const rows = await deps.storage.notifications.list({
        subscription: values.subscription as string | undefined,
        status,
        since,
        until,
        before,
        limit,
      });
      // DUE tells a held notification (a cron's next run, a retry's time) from a stuck one (due long ago).
      const table = rows.map((r) => ({ ...r, due: r.status === "pending" ? r.next_attempt_at : null }));
      printPage(print, rows, limit, (_, page) =>
        print.list(table, [
          "notification_id",
          "subscription_code",
          "event_id",
          "event_type",
          "record_count",
          "status",
          "due",
          "attempts",
          "receiver_code",
          "last_error",
          "created_at",
        ], { items: rows, ...page }));
    });
  },
};

/** The subscription and notification command groups. */
export const subscriptionCommands: CommandTree = {
  subscription: {
    list,
    show: byCode("Show one subscription", showSubscription, {
      examples: [
        "subscription show 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37",
        "subscription show 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37 --json",
      ],
    }),
    approve: byCode("Approve a pending subscription", approve, {
      verb: "approved",
      examples: ["subscription approve 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37"],
    }),
    cancel: byCode("Cancel a subscription", cancel, {
      verb: "cancelled",
      examples: ["subscription cancel 7d1e4b2a-93c5-4f08-b6aa-0e5f2c8d1b37"],
    }),
    reactivate: subscriptionReactivate,
    ...subscriptionSeedCommands,
  },
  notification: { list: notificationList, retry: notificationRetry },
};
