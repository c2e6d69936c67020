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

/** The window of a range: its bucket size, first minute and the bound values of WINDOW. */
export interface SeriesPlan {
  range: DashboardRange;
  buckets: number;
  minutes: number;
  start: number;
  window: number[];
}

/** The window of `range` ending with the minute of `nowMs`, bucket-aligned. */
export function seriesPlan(range: DashboardRange, nowMs: number): SeriesPlan {
  const w = WINDOWS[range];
  const end = Math.floor(nowMs / 60_000 / w.minutes) * w.minutes + w.minutes; // exclusive, bucket-aligned
  const start = end - w.buckets * w.minutes;
  return { range, buckets: w.buckets, minutes: w.minutes, start, window: [w.minutes, start, end] };
}

/** One series and bucket of the window, summed (`?`: WINDOW's values). */
export const SERIES_ROWS = `SELECT minute, metric, registry, label, SUM(value) AS total, MAX(value) AS peak
  FROM metrics_history WHERE ${WINDOW} GROUP BY minute, metric, registry, label`;
/** Each sender's requests over the window (`?`: WINDOW's values). */
export const SENDER_TOTALS = `SELECT sender, SUM(value) AS total FROM metrics_history WHERE ${WINDOW}
  AND metric = 'requests' GROUP BY sender`;
// A fixed list of TOP_SENDERS parameters (NULL matches none), so the statement text is one.
/** The busiest senders' requests per bucket (`?`: WINDOW's values, then TOP_SENDERS names). */
export const TOP_SENDER_ROWS = `SELECT minute, sender, SUM(value) AS total FROM metrics_history
  WHERE ${WINDOW} AND metric = 'requests' AND sender IN (${new Array(TOP_SENDERS).fill("?").join(", ")})
  GROUP BY minute, sender`;

/** A row of SERIES_ROWS. */
export type SeriesRow = {
  minute: number;
  metric: string;
  registry: string;
  label: string;
  total: number;
  peak: number;
};

/**
 * The chart data of `range` ending with the minute of `nowMs`. SQLite sums the window's rows (one per sender,
 * registry and label each bucket: a day with a thousand active senders is ~150k) so that JavaScript sees a row
 * per series and bucket: the busiest senders are ranked from one total each and only theirs are read per bucket.
 */
export function dashboardSeries(db: Db, range: DashboardRange, nowMs: number): DashboardSeries {
  const plan = seriesPlan(range, nowMs);
  // The day reads the 10-minute rows, the hour the minute rows: at most 144 buckets per series either way.
  const out = seriesOf(plan, stmt(db, SERIES_ROWS).all(...plan.window) as SeriesRow[]);
  const top = topSenders(
    stmt(db, SENDER_TOTALS).all(...plan.window) as Array<{ sender: string; total: number }>,
  );
  const rows = stmt(db, TOP_SENDER_ROWS).all(...plan.window, ...top.params);
  out.requests.bySender = senderSeries(
    plan,
    out,
    top,
    rows as Array<{ minute: number; sender: string; total: number }>,
  );
  return out;
}

/** The series of the window's summed rows (every series but the one by sender). */
export function seriesOf(plan: SeriesPlan, rows: readonly SeriesRow[]): DashboardSeries {
  const zeros = () => new Array<number>(plan.buckets).fill(0);
  const add = (into: Record<string, number[]>, key: string, b: number, v: number) => {
    (into[key] ??= zeros())[b] += v;
  };
  const out: DashboardSeries = {
    range: plan.range,
    bucketMinutes: plan.minutes,
    buckets: Array.from(
      { length: plan.buckets },
      (_, i) => new Date((plan.start + i * plan.minutes) * 60_000).toISOString(),
    ),
    requests: { total: zeros(), byRegistry: {}, bySender: {}, byStatus: {} },
    rateLimited: zeros(),
    callbacks: {},
    notifications: {},
    queue: {},
  };
  for (const r of rows) {
    const b = bucketOf(plan, r.minute);
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
  return out;
}

function bucketOf(plan: SeriesPlan, minute: number): number {
  return Math.floor((Number(minute) - plan.start) / plan.minutes);
}

/** The busiest senders by requests (ties by name), how many there were, and TOP_SENDER_ROWS' names. */
export function topSenders(
  totals: Array<{ sender: string; total: number }>,
): { names: string[]; more: boolean; params: (string | null)[] } {
  const ranked = totals.sort((a, b) => b.total - a.total || a.sender.localeCompare(b.sender));
  const names = ranked.slice(0, TOP_SENDERS).map((r) => r.sender);
  return {
    names,
    more: ranked.length > TOP_SENDERS,
    params: [...names, ...new Array(TOP_SENDERS - names.length).fill(null)],
  };
}

/** The busiest senders' request series by name, the rest summed as "other". */
export function senderSeries(
  plan: SeriesPlan,
  out: DashboardSeries,
  top: { names: string[]; more: boolean },
  rows: ReadonlyArray<{ minute: number; sender: string; total: number }>,
): Record<string, number[]> {
  const series: Record<string, number[]> = Object.fromEntries(
    top.names.map((s) => [s, new Array<number>(plan.buckets).fill(0)]),
  );
  for (const r of rows) series[r.sender][bucketOf(plan, r.minute)] += r.total;
  if (top.more) {
    series.other = out.requests.total.map((t, b) => t - top.names.reduce((sum, s) => sum + series[s][b], 0));
  }
  return series;
}
