/**
 * The spec's subscription `frequency` (`start_time`, `end_time`, a cron expression in `frequency`): events of a
 * subscription with a cron are held in the notification log until the cron's next run after the event, then
 * sent together as one batched `notify`. Cron expressions are evaluated by croner in UTC; it reads the five
 * field form, a leading seconds field and the Quartz form of the spec's example (`0 0 0 5,15 * ? *`). The Quartz
 * form (seven fields, or a `?`) numbers the days of the week as Quartz does, 1 (Sunday) to 7 (Saturday); the
 * others as cron does, 0 (Sunday) to 6, and 7 for Sunday too. A period's word (`daily`, as the spec's FR and DR
 * samples send it) is read as croner's nickname (`@daily`).
 */
import { Cron } from "croner";

/** The longest cron expression accepted. */
export const MAX_CRON_LENGTH = 200;

const PARSED = new Map<string, Cron>();

/** Whether `expression` is in Quartz's form (as the spec's example): seven fields, or a `?` in a day field. */
function isQuartz(expression: string): boolean {
  return expression.includes("?") || expression.split(/\s+/).length === 7;
}

/**
 * A word a period names as the spec's own FR and DR subscribe samples send it (`"frequency": "daily"`), any case:
 * read as croner's nickname of that period (`@daily`: midnight UTC each day).
 */
const PERIOD = /^(yearly|annually|monthly|weekly|daily|hourly)$/i;

function cronOf(expression: string): Cron {
  let cron = PARSED.get(expression);
  if (!cron) {
    // Parsed expressions are few (one per distinct subscription frequency); the bound only guards memory.
    if (PARSED.size >= 1000) PARSED.clear();
    cron = new Cron(PERIOD.test(expression) ? `@${expression.toLowerCase()}` : expression, {
      timezone: "Etc/UTC",
      paused: true,
      alternativeWeekdays: isQuartz(expression),
    });
    PARSED.set(expression, cron);
  }
  return cron;
}

/**
 * Why `expression` cannot schedule notifications (not a string, too long, not a cron expression, or never
 * due after `now`), or undefined when it can.
 */
export function cronProblem(expression: unknown, now: string): string | undefined {
  if (typeof expression !== "string" || expression.trim() === "") return "is not a cron expression string";
  if (expression.length > MAX_CRON_LENGTH) return `is longer than ${MAX_CRON_LENGTH} characters`;
  let cron: Cron;
  try {
    cron = cronOf(expression.trim());
  } catch (err) {
    return `${JSON.stringify(expression.slice(0, 60))} is not a cron expression (${(err as Error).message})`;
  }
  if (!cron.nextRun(new Date(now))) return `${JSON.stringify(expression.slice(0, 60))} is never due`;
  return undefined;
}

/** The cron expression of a stored frequency (JSON as sent), or undefined when it has none. */
export function cronExpression(frequencyJson: string | null): string | undefined {
  if (!frequencyJson) return undefined;
  try {
    const f = JSON.parse(frequencyJson) as { frequency?: unknown };
    return typeof f?.frequency === "string" && f.frequency.trim() !== "" ? f.frequency.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When an event at `eventAt` is due to be sent for a subscription with cron `expression`: the cron's first run
 * after the event, but never after the subscription's `endTime` (what happened inside the window is sent when
 * it closes). When the expression has no run left (`0 0 0 1 1 ? 2026` after that day) or no longer parses, the
 * window's end, or at once without one rather than holding forever.
 */
export function dueAt(expression: string, eventAt: string, endTime: string | null): string {
  let next: Date | null = null;
  try {
    next = cronOf(expression).nextRun(new Date(eventAt));
  } catch {
    next = null;
  }
  const due = next ? next.toISOString() : endTime ?? eventAt;
  return endTime && due > endTime ? endTime : due;
}
