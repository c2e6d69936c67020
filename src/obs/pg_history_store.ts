/**
 * The dashboard's history in PostgreSQL: the chart reads of src/obs/dashboard.ts, numbered; the write as one
 * upsert of arrays (GREATEST for SQLite's two-argument MAX); the queue depth in one statement.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  type HistoryRow,
  historyRows,
  PRUNE_BUCKETS,
  PRUNE_MINUTES,
  pruneBefore,
  queuePoints,
} from "./history.ts";
import {
  SENDER_TOTALS,
  senderSeries,
  SERIES_ROWS,
  seriesOf,
  seriesPlan,
  type SeriesRow,
  TOP_SENDER_ROWS,
  topSenders,
} from "./dashboard.ts";
import type { MetricsHistoryStore } from "./history_store.ts";

// Open transactions by state and failed callbacks, as stateCounts (src/transactions/store.ts) counts them, then
// the pending notifications (part 2).
const QUEUE_DEPTH = `
  SELECT 0 AS part, state, COUNT(*) AS n FROM transactions
   WHERE state IN ('received', 'pending', 'processing', 'succeeded', 'rejected') GROUP BY state
  UNION ALL SELECT 1, 'callback_failed', COUNT(*) FROM transactions WHERE state = 'callback_failed'
  UNION ALL SELECT 2, 'notifications', COUNT(*) FROM notifications WHERE status = 'pending'
  ORDER BY part, state`;

const UPSERT = `INSERT INTO metrics_history (span, minute, metric, registry, sender, label, value)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[])
  ON CONFLICT (span, minute, metric, registry, sender, label) DO UPDATE SET value = CASE
    WHEN metrics_history.metric = 'queue' THEN GREATEST(metrics_history.value, excluded.value)
    ELSE metrics_history.value + excluded.value END`;

/**
 * The rows with one row per key, combined as the upsert combines them (one INSERT … ON CONFLICT may not touch a
 * row twice), in key order (instances writing at once lock rows in the same order: no deadlock).
 */
function combined(rows: readonly HistoryRow[]): HistoryRow[] {
  const byKey = new Map<string, HistoryRow>();
  for (const row of rows) {
    const key = row.slice(0, 6).join("\u0000");
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, [...row]);
    else seen[6] = row[2] === "queue" ? Math.max(seen[6], row[6]) : seen[6] + row[6];
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** The metrics history in the PostgreSQL database behind `pool`. */
export function pgHistoryStore(pool: PgPool): MetricsHistoryStore {
  return {
    async queueDepth() {
      const rows = await pgAll<{ part: number; state: string; n: number }>(pool, QUEUE_DEPTH);
      return queuePoints(rows.filter((r) => r.part < 2), rows.find((r) => r.part === 2)!.n);
    },
    write: (minute, points) =>
      pgTransaction(pool, async (c) => {
        const rows = combined(historyRows(minute, points));
        if (rows.length > 0) {
          const column = (i: number) => rows.map((r) => r[i]) as string[] | number[];
          await pgRun(c, UPSERT, [0, 1, 2, 3, 4, 5, 6].map(column));
        }
        const prune = pruneBefore(minute);
        await pgRun(c, pgText(PRUNE_MINUTES), [prune.minutes]);
        await pgRun(c, pgText(PRUNE_BUCKETS), [prune.buckets]);
      }),
    async series(range, nowMs) {
      const plan = seriesPlan(range, nowMs);
      const out = seriesOf(plan, await pgAll<SeriesRow>(pool, pgText(SERIES_ROWS), plan.window));
      const top = topSenders(
        await pgAll<{ sender: string; total: number }>(pool, pgText(SENDER_TOTALS), plan.window),
      );
      const rows = await pgAll<{ minute: number; sender: string; total: number }>(
        pool,
        pgText(TOP_SENDER_ROWS),
        [...plan.window, ...top.params] as (string | number | null)[],
      );
      out.requests.bySender = senderSeries(plan, out, top, rows);
      return out;
    },
  };
}
