/** Work done once when `serve` starts, after migrations and before listening (admin token, demo data, ...). */
import type { Deps } from "./deps.ts";

/** One start-up task. */
export interface StartupTask {
  name: string;
  run(deps: Deps): Promise<void> | void;
}

/** Start-up tasks in order. Areas append theirs here. */
export const STARTUP_TASKS: readonly StartupTask[] = [];

/** Runs every start-up task in order. */
export async function runStartupTasks(deps: Deps): Promise<void> {
  for (const task of STARTUP_TASKS) await task.run(deps);
}
