/**
 * A small Prometheus registry: counters and histograms with labels, levels (gauges each isolate holds, summed over
 * the isolates) and gauges read at scrape time.
 */

type Labels = Record<string, string>;

/** The values of a gauge, each with its labels. */
type GaugeRows = Array<{ labels: Labels; value: number }>;

/** The counter of gauges that failed to read at a scrape. */
const GAUGE_FAILURES = "dci_metrics_gauge_failures_total";

/** The counter of records that went to a family's "other" series, its cap of series reached. */
const SERIES_OVERFLOW = "dci_metrics_series_overflow_total";

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Most series one family keeps. Label values must come from bounded sets; should one ever carry input, the
 * label sets past this count share one series whose every label reads "other", so memory and the /metrics
 * page stay bounded whatever clients send.
 */
export const MAX_SERIES_PER_FAMILY = 1000;

interface Family {
  kind: "counter" | "histogram" | "level" | "gauge";
  help: string;
  series: Map<string, { labels: Labels; value: number; buckets?: number[]; sum?: number }>;
  buckets?: number[];
  collect?: () => GaugeRows | Promise<GaugeRows>;
}

/** Counters and histograms of one isolate, as plain data (structured-cloneable) for merging across isolates. */
export interface MetricsSnapshot {
  /** The isolate it came from (a peer's, over the process bus); this isolate's own has none. */
  isolate?: string;
  families: Array<{
    name: string;
    kind: "counter" | "histogram" | "level";
    help: string;
    buckets?: number[];
    series: Array<{ labels: Labels; value: number; buckets?: number[]; sum?: number }>;
  }>;
}

/** The metrics registry every part of the server records into. */
export class Metrics {
  #families = new Map<string, Family>();
  #peers?: () => Promise<MetricsSnapshot[]>;
  /** Each peer's latest snapshot, by isolate (renderAll). */
  #lastPeers = new Map<string, MetricsSnapshot>();
  /** The rendering in progress, which scrapes arriving meanwhile share (renderAll). */
  #rendering?: Promise<string>;

  /** Sets where `renderAll` gets the other isolates' snapshots (the process bus). */
  setPeers(peers: () => Promise<MetricsSnapshot[]>): void {
    this.#peers = peers;
  }

  /** This isolate's counters, histograms and levels (gauges are read where /metrics is answered). */
  snapshot(): MetricsSnapshot {
    const families: MetricsSnapshot["families"] = [];
    for (const [name, f] of this.#families) {
      if (f.kind === "gauge") continue;
      families.push({
        name,
        kind: f.kind,
        help: f.help,
        buckets: f.buckets,
        series: [...f.series.values()].map((s) => ({ ...s, buckets: s.buckets?.slice() })),
      });
    }
    return { families };
  }

  /** This isolate's snapshot followed by every peer's that answers (the whole process's counters, unmerged). */
  async snapshots(): Promise<MetricsSnapshot[]> {
    const peers = this.#peers ? await this.#peers().catch(() => []) : [];
    return [this.snapshot(), ...peers];
  }

  /**
   * The exposition for the whole process: this isolate merged with every peer, each as it last answered. A peer
   * busy past the bus's wait (a long synchronous search, a busy wait) is summed in with its previous snapshot: left
   * out, its counts would drop from the totals and come back at the next scrape, which Prometheus reads as a
   * counter reset and counts whole again (the dashboard's sampler keeps per-isolate deltas for the same reason).
   * Scrapes that arrive while one is being made share it: /metrics may be open to anyone (no DCI_METRICS_TOKEN),
   * and each rendering asks every isolate and reads the database, so a flood of scrapes costs one at a time (per
   * isolate: each has its own registry).
   */
  renderAll(): Promise<string> {
    return this.#rendering ??= this.#renderAll().finally(() => this.#rendering = undefined);
  }

  async #renderAll(): Promise<string> {
    const peers = this.#peers ? await this.#peers().catch(() => []) : [];
    for (const snap of peers) if (snap.isolate !== undefined) this.#lastPeers.set(snap.isolate, snap);
    const all = [...this.#lastPeers.values(), ...peers.filter((p) => p.isolate === undefined)];
    return this.render(all, await this.#collectGauges());
  }

  /**
   * Every gauge's values now (an async one reads the database). A gauge that fails reports nothing this scrape
   * and counts in `dci_metrics_gauge_failures_total{gauge}`: its series vanishing would silence the alerts on it
   * (a queue depth read failing when the database is busiest), so alert on the count growing too.
   */
  async #collectGauges(): Promise<Map<string, GaugeRows>> {
    const out = new Map<string, GaugeRows>();
    const gauges = [...this.#families].filter(([, f]) => f.kind === "gauge");
    await Promise.all(
      gauges.map(async ([name, f]) => {
        const rows = await Promise.resolve().then(() => f.collect!()).catch(() => {
          this.inc(GAUGE_FAILURES, "Scrapes whose gauge could not be read (its series left out)", {
            gauge: name,
          });
          return [];
        });
        out.set(name, rows);
      }),
    );
    return out;
  }

  /** Adds `by` to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const s = this.#series(name, "counter", help, labels);
    s.value += by;
  }

  /**
   * Moves a level (a gauge this isolate holds, such as requests in flight) by `by`, up or down; /metrics shows the
   * sum over the isolates.
   */
  add(name: string, help: string, labels: Labels, by: number): void {
    const s = this.#series(name, "level", help, labels);
    s.value += by;
  }

  /** Records one observation (seconds) into a histogram. */
  observe(name: string, help: string, labels: Labels, value: number, buckets = DEFAULT_BUCKETS): void {
    const s = this.#series(name, "histogram", help, labels, buckets);
    s.value += 1;
    s.sum = (s.sum ?? 0) + value;
    const b = this.#families.get(name)!.buckets!;
    for (let i = 0; i < b.length; i++) if (value <= b[i]) s.buckets![i] += 1;
  }

  /**
   * Registers a gauge whose values are read when /metrics is scraped. An async one (a database read) is reported
   * by `renderAll` only.
   */
  gauge(name: string, help: string, collect: () => GaugeRows | Promise<GaugeRows>): void {
    this.#families.set(name, { kind: "gauge", help, series: new Map(), collect });
  }

  /**
   * The Prometheus text exposition of everything recorded, plus `peers` (other isolates) summed in; `gauges`
   * holds the gauges' values already collected (renderAll), else the synchronous ones are read here.
   */
  render(peers: readonly MetricsSnapshot[] = [], gauges?: ReadonlyMap<string, GaugeRows>): string {
    const out: string[] = [];
    for (const [name, f] of merged(this.#families, peers)) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.kind === "level" ? "gauge" : f.kind}`);
      if (f.kind === "gauge") {
        const rows = gauges?.get(name) ?? syncRows(f);
        for (const r of rows) out.push(`${name}${fmt(r.labels)} ${r.value}`);
        continue;
      }
      for (const s of f.series.values()) {
        if (f.kind === "counter" || f.kind === "level") {
          out.push(`${name}${fmt(s.labels)} ${s.value}`);
          continue;
        }
        f.buckets!.forEach((le, i) =>
          out.push(`${name}_bucket${fmt({ ...s.labels, le: String(le) })} ${s.buckets![i]}`)
        );
        out.push(`${name}_bucket${fmt({ ...s.labels, le: "+Inf" })} ${s.value}`);
        out.push(`${name}_sum${fmt(s.labels)} ${s.sum}`, `${name}_count${fmt(s.labels)} ${s.value}`);
      }
    }
    return out.join("\n") + "\n";
  }

  #series(name: string, kind: Family["kind"], help: string, labels: Labels, buckets?: number[]) {
    let f = this.#families.get(name);
    if (!f) {
      f = { kind, help, series: new Map(), buckets };
      this.#families.set(name, f);
    }
    let key = fmt(labels);
    let s = f.series.get(key);
    if (!s && f.series.size >= MAX_SERIES_PER_FAMILY) {
      // Counted, so that a family whose label sets outgrew the cap shows (an alert on it: raise the cap or cut
      // a label) instead of its new series silently summing into "other".
      if (name !== SERIES_OVERFLOW) {
        this.inc(SERIES_OVERFLOW, 'Records of a family past its series cap, summed into its "other" series', {
          family: name,
        });
      }
      labels = Object.fromEntries(Object.keys(labels).map((k) => [k, "other"]));
      key = fmt(labels);
      s = f.series.get(key);
    }
    if (!s) {
      s = { labels, value: 0, buckets: f.buckets ? f.buckets.map(() => 0) : undefined, sum: 0 };
      f.series.set(key, s);
    }
    return s;
  }
}

/** A gauge's values read now, or none when it is async (only renderAll awaits those) or fails. */
function syncRows(f: Family): GaugeRows {
  try {
    const rows = f.collect!();
    if (Array.isArray(rows)) return rows;
    rows.catch(() => {});
  } catch { /* reported as no values */ }
  return [];
}

/** `local` with every peer's counters, histograms and levels added (series matched by their labels). */
function merged(local: Map<string, Family>, peers: readonly MetricsSnapshot[]): Map<string, Family> {
  if (peers.length === 0) return local;
  const out = new Map<string, Family>();
  for (const [name, f] of local) {
    const series = new Map([...f.series].map(([k, s]) => [k, { ...s, buckets: s.buckets?.slice() }]));
    out.set(name, { ...f, series });
  }
  for (const peer of peers) {
    for (const pf of peer.families) {
      let f = out.get(pf.name);
      if (!f) {
        f = { kind: pf.kind, help: pf.help, series: new Map(), buckets: pf.buckets };
        out.set(pf.name, f);
      }
      if (f.kind !== pf.kind) continue;
      for (const ps of pf.series) {
        const key = fmt(ps.labels);
        const s = f.series.get(key);
        if (!s) {
          f.series.set(key, { ...ps, buckets: ps.buckets?.slice() });
          continue;
        }
        s.value += ps.value;
        s.sum = (s.sum ?? 0) + (ps.sum ?? 0);
        if (s.buckets && ps.buckets) ps.buckets.forEach((n, i) => s.buckets![i] += n);
      }
    }
  }
  return out;
}

function fmt(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${
    keys.map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
      .join(",")
  }}`;
}
