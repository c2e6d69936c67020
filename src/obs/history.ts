/**
 * The dashboard's history (migration 0019; deps.storage.history, src/obs/history_store.ts). Counters live in memory per isolate; once a minute the main isolate
 * of the worker process reads every isolate's (the process bus), writes what each series gained since the last
 * sample and the queue depth, and prunes what is older than 25 hours. The request path writes nothing: the
 * sampler's cost is one batch insert a minute, whatever the traffic.
 */
import type { Deps } from "../deps.ts";
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { stateCounts } from "../transactions/store.ts";

/** One row of the history. */
export interface HistoryPoint {
  metric: "requests" | "callbacks" | "notifications" | "queue";
  registry?: string;
  sender?: string;
  label: string;
  value: number;
}

/** The counter families sampled, and how each series maps to a history row. */
const FAMILIES: Record<string, (labels: Record<string, string>) => Omit<HistoryPoint, "value">> = {
  dci_registry_requests_total: (l) => ({
    metric: "requests",
    registry: l.registry,
    sender: l.sender,
    label: l.status,
  }),
  dci_txn_callbacks_total: (l) => ({ metric: "callbacks", label: l.outcome }),
  dci_notifications_total: (l) => ({ metric: "notifications", label: l.outcome }),
};

/** How long rows are kept (a day plus an hour, so the day chart's oldest bucket is whole). */
export const HISTORY_KEEP_MINUTES = 25 * 60;

const keyOf = (p: Omit<HistoryPoint, "value">) =>
  `${p.metric}\u0000${p.registry ?? ""}\u0000${p.sender ?? ""}\u0000${p.label}`;

/** Totals of the sampled counters over every isolate's snapshot, by history key. */
export function counterTotals(snapshots: readonly MetricsSnapshot[]): Map<string, HistoryPoint> {
  const out = new Map<string, HistoryPoint>();
  for (const snap of snapshots) {
    for (const family of snap.families) {
      const map = FAMILIES[family.name];
      if (!map || family.kind !== "counter") continue;
      for (const s of family.series) {
        const point = map(s.labels);
        const key = keyOf(point);
        const seen = out.get(key);
        if (seen) seen.value += s.value;
        else out.set(key, { ...point, value: s.value });
      }
    }
  }
  return out;
}

/**
 * What each counter gained since `previous` (a series that went down, an isolate restarted, counts from 0);
 * series that gained nothing are left out.
 */
export function counterDeltas(
  previous: ReadonlyMap<string, HistoryPoint>,
  current: ReadonlyMap<string, HistoryPoint>,
): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  for (const [key, p] of current) {
    const before = previous.get(key)?.value ?? 0;
    const gained = p.value >= before ? p.value - before : p.value;
    if (gained > 0) out.push({ ...p, value: gained });
  }
  return out;
}

/** The queue depth now: open transactions by state, and pending notifications. */
export function queueDepth(db: Db): HistoryPoint[] {
  const pending = stmt(db, PENDING_NOTIFICATIONS).get() as { n: number };
  return queuePoints(stateCounts(db), pending.n);
}

/** How many notifications wait to be delivered. */
export const PENDING_NOTIFICATIONS = "SELECT COUNT(*) AS n FROM notifications WHERE status = 'pending'";

/** The queue depth's points of the transaction state counts and the pending notifications. */
export function queuePoints(
  states: ReadonlyArray<{ state: string; n: number }>,
  notifications: number,
): HistoryPoint[] {
  return [
    ...states.map((r) => ({ metric: "queue" as const, label: r.state, value: r.n })),
    { metric: "queue", label: "notifications", value: notifications },
  ];
}

/**
 * Writes one minute's points, into its minute row and its 10-minute bucket's row (counters add up, the queue
 * keeps the deepest sample), and prunes rows past HISTORY_KEEP_MINUTES, in one transaction.
 */
export function writeHistory(db: Db, minute: number, points: readonly HistoryPoint[]): void {
  const insert = stmt(
    db,
    `INSERT INTO metrics_history (span, minute, metric, registry, sender, label, value) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (span, minute, metric, registry, sender, label) DO UPDATE SET value =
       CASE WHEN metric = 'queue' THEN MAX(value, excluded.value) ELSE value + excluded.value END`,
  );
  transaction(db, () => {
    for (const row of historyRows(minute, points)) insert.run(...row);
    const prune = pruneBefore(minute);
    stmt(db, PRUNE_MINUTES).run(prune.minutes);
    stmt(db, PRUNE_BUCKETS).run(prune.buckets);
  });
}

/** A row of metrics_history: span, minute, metric, registry, sender, label, value. */
export type HistoryRow = [number, number, string, string, string, string, number];

/** The rows of one minute's points: each into its minute row and into its 10-minute bucket's row. */
export function historyRows(minute: number, points: readonly HistoryPoint[]): HistoryRow[] {
  const bucket = minute - (minute % 10);
  return points.flatMap((p): HistoryRow[] => [
    [1, minute, p.metric, p.registry ?? "", p.sender ?? "", p.label, p.value],
    [10, bucket, p.metric, p.registry ?? "", p.sender ?? "", p.label, p.value],
  ]);
}

/** The pruning of minute rows (`?`: the first minute kept). */
export const PRUNE_MINUTES = "DELETE FROM metrics_history WHERE span = 1 AND minute < ?";
/** The pruning of 10-minute rows (`?`: the first bucket kept). */
export const PRUNE_BUCKETS = "DELETE FROM metrics_history WHERE span = 10 AND minute < ?";

/** The first minute and the first 10-minute bucket kept once `minute` is written. */
export function pruneBefore(minute: number): { minutes: number; buckets: number } {
  return { minutes: minute - HISTORY_KEEP_MINUTES, buckets: minute - (minute % 10) - HISTORY_KEEP_MINUTES };
}

/** A running sampler. */
export interface HistorySampler {
  /** Takes one sample now (the timer calls it each minute; tests call it directly). */
  sample(): Promise<void>;
  stop(): void;
}

/** Samples the process's counters and the queue depth into metrics_history once a minute. */
export function startHistorySampler(deps: Deps, options: { intervalMs?: number } = {}): HistorySampler {
  // Each isolate's totals at its last sample. Deltas are taken per isolate: a peer that does not answer in time
  // is left out of this sample (its gains come with its next one) instead of its whole count going missing and
  // then counted again as if it had restarted (a dashboard minute of 20 requests showed 5,020).
  const previous = new Map<string, Map<string, HistoryPoint>>();
  const sample = async () => {
    const gained = new Map<string, HistoryPoint>();
    for (const [i, snap] of (await deps.metrics.snapshots()).entries()) {
      const isolate = snap.isolate ?? `#${i}`; // this isolate's own is first
      const current = counterTotals([snap]);
      for (const p of counterDeltas(previous.get(isolate) ?? new Map(), current)) {
        const key = keyOf(p);
        const seen = gained.get(key);
        if (seen) seen.value += p.value;
        else gained.set(key, p);
      }
      previous.set(isolate, current);
    }
    const points = [...gained.values(), ...await deps.storage.history.queueDepth()];
    await deps.storage.history.write(Math.floor(deps.clock.now() / 60_000), points);
  };
  const timer = options.intervalMs === 0 ? undefined : setInterval(() => {
    sample().catch((err) => deps.log.warn("metrics history sample failed", { err }));
  }, options.intervalMs ?? 60_000);
  if (timer !== undefined) Deno.unrefTimer(timer);
  return { sample, stop: () => clearInterval(timer) };
}
