/**
 * The log lines of a periodic task that keeps failing the same way (the due-work poll every 200 ms, the notifier's
 * passes during a database outage): the first failure, then at most one "still failing" line a minute with how many
 * since when, and one line when it works again. A weekend's outage was ~430,000 identical lines with stacks.
 */
import type { Logger } from "./log.ts";
import { faultLevel } from "../db/faults.ts";

/** How often a task that keeps failing says so again (ms). */
const REPEAT_EVERY_MS = 60_000;

/** The failure log of the periodic task `what`; `now` (ms) is the real clock unless a test gives one. */
export function repeatedFailureLog(
  log: Logger,
  what: string,
  options: { now?: () => number } = {},
): { failed(err: unknown): void; succeeded(): void } {
  const now = options.now ?? (() => Date.now());
  let failures = 0;
  let since = 0;
  let lastLine = 0;
  return {
    failed(err) {
      const t = now();
      failures++;
      if (failures === 1) {
        since = lastLine = t;
        log[faultLevel(err)](`${what} failed`, { err });
      } else if (t - lastLine >= REPEAT_EVERY_MS) {
        lastLine = t;
        log[faultLevel(err)](`${what} still failing`, {
          failures,
          since: new Date(since).toISOString(),
          err,
        });
      }
    },
    succeeded() {
      if (failures === 0) return;
      log.info(`${what} works again`, { failures, since: new Date(since).toISOString() });
      failures = 0;
    },
  };
}
