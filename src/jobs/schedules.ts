/** Every cron schedule: a name, a cron expression (UTC) and a plain async body tested directly. */
import type { Deps } from "../deps.ts";
import type { Config } from "../config.ts";
import { backupSchedules } from "./backup_schedule.ts";
import { AUTH_SCHEDULES } from "../senders/jobs.ts";
import { SUBSCRIPTION_SCHEDULES } from "../subscriptions/expiry.ts";
import { AUDIT_SCHEDULES } from "../audit/retention.ts";
import { RETENTION_SCHEDULES } from "../transactions/retention.ts";

/** One scheduled job. */
export interface Schedule {
  name: string;
  schedule: string;
  run(deps: Deps): Promise<void>;
}

/** The schedules `startBackground` registers. Areas append their jobs here. */
export const SCHEDULES: readonly Schedule[] = [
  ...AUTH_SCHEDULES,
  ...SUBSCRIPTION_SCHEDULES,
  ...AUDIT_SCHEDULES,
  ...RETENTION_SCHEDULES,
];

/** Every schedule for `config`: the fixed ones, and those its settings turn on (scheduled backups). */
export function schedulesFor(config: Config): Schedule[] {
  return [...SCHEDULES, ...backupSchedules(config)];
}
