/** Where the dashboard's history is kept: the interface the sampler and the charts use, and its SQLite form. */
import type { Db } from "../db/sqlite.ts";
import { type HistoryPoint, queueDepth, writeHistory } from "./history.ts";
import { type DashboardRange, type DashboardSeries, dashboardSeries } from "./dashboard.ts";

/** The metrics history (src/obs/history.ts) and the chart data read from it (src/obs/dashboard.ts). */
export interface MetricsHistoryStore {
  /** The queue depth now: open transactions by state, callbacks that failed, and pending notifications. */
  queueDepth(): Promise<HistoryPoint[]>;
  /**
   * Adds one minute's points to its minute row and its 10-minute bucket's row (counters add up, the queue keeps
   * the deepest sample) and prunes rows past HISTORY_KEEP_MINUTES, in one transaction. Instances sampling at
   * once add up.
   */
  write(minute: number, points: readonly HistoryPoint[]): Promise<void>;
  /** The chart data of `range` ending with the minute of `nowMs`. */
  series(range: DashboardRange, nowMs: number): Promise<DashboardSeries>;
}

/** The metrics history in the embedded SQLite database. */
export function sqliteHistoryStore(db: Db): MetricsHistoryStore {
  return {
    queueDepth: () => Promise.try(() => queueDepth(db)),
    write: (minute, points) => Promise.try(() => writeHistory(db, minute, points)),
    series: (range, nowMs) => Promise.try(() => dashboardSeries(db, range, nowMs)),
  };
}
