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

/** The chart data of `range` ending with the minute of `nowMs`. */
export function dashboardSeries(db: Db, range: DashboardRange, nowMs: number): DashboardSeries {
  const w = WINDOWS[range];
  const end = Math.floor(nowMs / 60_000 / w.minutes) * w.minutes + w.minutes; // exclusive, bucket-aligned
  const start = end - w.buckets * w.minutes;
  // The day reads the 10-minute rows, the hour the minute rows: at most 144 rows per series either way.
  const rows = stmt(
    db,
    `SELECT minute, metric, registry, sender, label, value FROM metrics_history
     WHERE span = ? AND minute >= ? AND minute < ?`,
  ).all(w.minutes, start, end) as Array<
    { minute: number; metric: string; registry: string; sender: string; label: string; value: number }
  >;
  const zeros = () => new Array<number>(w.buckets).fill(0);
  const add = (into: Record<string, number[]>, key: string, b: number, v: number) => {
    (into[key] ??= zeros())[b] += v;
  };
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
  const senders: Record<string, number[]> = {};
  for (const row of rows) {
    const r = {
      ...row,
      b: Math.floor((Number(row.minute) - start) / w.minutes),
      total: row.value,
      peak: row.value,
    };
    if (r.metric === "requests") {
      out.requests.total[r.b] += r.total;
      add(out.requests.byRegistry, r.registry, r.b, r.total);
      add(senders, r.sender, r.b, r.total);
      add(out.requests.byStatus, `${r.label.slice(0, 1)}xx`, r.b, r.total);
      if (r.label === "429") out.rateLimited[r.b] += r.total;
    } else if (r.metric === "callbacks") add(out.callbacks, r.label, r.b, r.total);
    else if (r.metric === "notifications") add(out.notifications, r.label, r.b, r.total);
    else if (r.metric === "queue") {
      const series = out.queue[r.label] ??= zeros();
      series[r.b] = Math.max(series[r.b], r.peak);
    }
  }
  out.requests.bySender = topSenders(senders);
  return out;
}

function topSenders(all: Record<string, number[]>): Record<string, number[]> {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const ranked = Object.entries(all).sort((a, b) => sum(b[1]) - sum(a[1]) || a[0].localeCompare(b[0]));
  const out = Object.fromEntries(ranked.slice(0, TOP_SENDERS));
  for (const [, series] of ranked.slice(TOP_SENDERS)) {
    const other = out.other ??= series.map(() => 0);
    series.forEach((v, i) => other[i] += v);
  }
  return out;
}
