/**
 * The dashboard's chart data, read from metrics_history (src/obs/history.ts): the last hour per minute or the
 * last day per 10 minutes, requests by registry, sender and status class, rate-limit refusals (429), callbacks
 * and notifications by outcome, and the queue depth (its peak in each bucket).
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";

/** The two windows the dashboard shows. */
export type DashboardRange = "hour" | "day";

/** Series of equal length, one value per bucket, oldest first. */
export interface DashboardSeries {
  range: DashboardRange;
  bucketMinutes: number;
  /** Start of each bucket (ISO). */
  buckets: string[];
  requests: {
    total: number[];
    byRegistry: Record<string, number[]>;
    /** The busiest senders by name, the rest summed as "other". */
    bySender: Record<string, number[]>;
    /** By status class: 2xx, 3xx, 4xx, 5xx. */
    byStatus: Record<string, number[]>;
  };
  rateLimited: number[];
  callbacks: Record<string, number[]>;
  notifications: Record<string, number[]>;
  /** By transaction state, and "notifications" (pending). */
  queue: Record<string, number[]>;
}

const WINDOWS: Record<DashboardRange, { buckets: number; minutes: number }> = {
  hour: { buckets: 60, minutes: 1 },
  day: { buckets: 144, minutes: 10 },
};

/** Senders shown by name; the others are summed. */
export const TOP_SENDERS = 8;

const WINDOW = "span = ? AND minute >= ? AND minute < ?";

/**
 * The chart data of `range` ending with the minute of `nowMs`. SQLite sums the window's rows (one per sender,
 * registry and label each bucket: a day with a thousand active senders is ~150k) so that JavaScript sees a row
 * per series and bucket: the busiest senders are ranked from one total each and only theirs are read per bucket.
 */
export function dashboardSeries(db: Db, range: DashboardRange, nowMs: number): DashboardSeries {
  const w = WINDOWS[range];
  const end = Math.floor(nowMs / 60_000 / w.minutes) * w.minutes + w.minutes; // exclusive, bucket-aligned
  const start = end - w.buckets * w.minutes;
  const window = [w.minutes, start, end];
  // The day reads the 10-minute rows, the hour the minute rows: at most 144 buckets per series either way.
  const rows = stmt(
    db,
    `SELECT minute, metric, registry, label, SUM(value) AS total, MAX(value) AS peak FROM metrics_history
     WHERE ${WINDOW} GROUP BY minute, metric, registry, label`,
  ).all(...window) as Array<
    { minute: number; metric: string; registry: string; label: string; total: number; peak: number }
  >;
  const zeros = () => new Array<number>(w.buckets).fill(0);
  const add = (into: Record<string, number[]>, key: string, b: number, v: number) => {
    (into[key] ??= zeros())[b] += v;
  };
  const bucket = (minute: number) => Math.floor((Number(minute) - start) / w.minutes);
  const out: DashboardSeries = {
    range,
    bucketMinutes: w.minutes,
    buckets: Array.from(
      { length: w.buckets },
      (_, i) => new Date((start + i * w.minutes) * 60_000).toISOString(),
    ),
    requests: { total: zeros(), byRegistry: {}, bySender: {}, byStatus: {} },
    rateLimited: zeros(),
    callbacks: {},
    notifications: {},
    queue: {},
  };
  for (const r of rows) {
    const b = bucket(r.minute);
    if (r.metric === "requests") {
      out.requests.total[b] += r.total;
      add(out.requests.byRegistry, r.registry, b, r.total);
      add(out.requests.byStatus, `${r.label.slice(0, 1)}xx`, b, r.total);
      if (r.label === "429") out.rateLimited[b] += r.total;
    } else if (r.metric === "callbacks") add(out.callbacks, r.label, b, r.total);
    else if (r.metric === "notifications") add(out.notifications, r.label, b, r.total);
    else if (r.metric === "queue") {
      const series = out.queue[r.label] ??= zeros();
      series[b] = Math.max(series[b], r.peak);
    }
  }
  out.requests.bySender = senderSeries(db, window, out.requests.total, zeros, bucket);
  return out;
}

/** The busiest senders' request series by name (ties by name), the rest summed as "other". */
function senderSeries(
  db: Db,
  window: number[],
  total: number[],
  zeros: () => number[],
  bucket: (minute: number) => number,
): Record<string, number[]> {
  const ranked = (stmt(
    db,
    `SELECT sender, SUM(value) AS total FROM metrics_history WHERE ${WINDOW} AND metric = 'requests'
     GROUP BY sender`,
  ).all(...window) as Array<{ sender: string; total: number }>)
    .sort((a, b) => b.total - a.total || a.sender.localeCompare(b.sender));
  const top = ranked.slice(0, TOP_SENDERS).map((r) => r.sender);
  const out: Record<string, number[]> = Object.fromEntries(top.map((s) => [s, zeros()]));
  // A fixed list of TOP_SENDERS parameters (NULL matches none), so the statement text is one.
  const names = [...top, ...new Array(TOP_SENDERS - top.length).fill(null)];
  const rows = stmt(
    db,
    `SELECT minute, sender, SUM(value) AS total FROM metrics_history
     WHERE ${WINDOW} AND metric = 'requests' AND sender IN (${names.map(() => "?").join(", ")})
     GROUP BY minute, sender`,
  ).all(...window, ...names) as Array<{ minute: number; sender: string; total: number }>;
  for (const r of rows) out[r.sender][bucket(r.minute)] += r.total;
  if (ranked.length > TOP_SENDERS) {
    out.other = total.map((t, b) => t - top.reduce((sum, s) => sum + out[s][b], 0));
  }
  return out;
}
