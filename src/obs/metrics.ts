/** A small Prometheus registry: counters and histograms with labels, and gauges read at scrape time. */

type Labels = Record<string, string>;

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Family {
  kind: "counter" | "histogram" | "gauge";
  help: string;
  series: Map<string, { labels: Labels; value: number; buckets?: number[]; sum?: number }>;
  buckets?: number[];
  collect?: () => Array<{ labels: Labels; value: number }>;
}

/** The metrics registry every part of the server records into. */
export class Metrics {
  #families = new Map<string, Family>();

  /** Adds `by` to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const s = this.#series(name, "counter", help, labels);
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

  /** Registers a gauge whose values are read when /metrics is scraped. */
  gauge(name: string, help: string, collect: () => Array<{ labels: Labels; value: number }>): void {
    this.#families.set(name, { kind: "gauge", help, series: new Map(), collect });
  }

  /** The Prometheus text exposition of everything recorded. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.kind}`);
      if (f.kind === "gauge") {
        let rows: Array<{ labels: Labels; value: number }> = [];
        try {
          rows = f.collect!();
        } catch {
          rows = [];
        }
        for (const r of rows) out.push(`${name}${fmt(r.labels)} ${r.value}`);
        continue;
      }
      for (const s of f.series.values()) {
        if (f.kind === "counter") {
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
    const key = fmt(labels);
    let s = f.series.get(key);
    if (!s) {
      s = { labels, value: 0, buckets: f.buckets ? f.buckets.map(() => 0) : undefined, sum: 0 };
      f.series.set(key, s);
    }
    return s;
  }
}

function fmt(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${
    keys.map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
      .join(",")
  }}`;
}
