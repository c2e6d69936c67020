/**
 * `dci-server registry import [--registry NAME] FILE`, `registry seed [--registry NAME] --demo N [--seed S]`,
 * `registry stats [--registry NAME]` (social when no registry is named).
 */
import { CliFailure, type Command, type CommandTree, EXIT_REJECTED, UsageError } from "./cli.ts";
import { type Printer, table } from "./output.ts";
import { withDeps } from "./system.ts";
import type { Deps } from "../deps.ts";
import type { ImportReport } from "../registry/batch.ts";
import { BATCH_RECORDS, type PreparedBatch } from "../registry/prepared.ts";
import { prepareBatches } from "../registry/batch.ts";
import { workerBatches } from "../registry/parse_pool.ts";
import { detectFormat } from "../registry/sources.ts";
import { demoRecords } from "../registries/social/seed.ts";
import { demoSource } from "../registry/startup.ts";
import { profileOf, registryProfiles } from "../registries/index.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { wakeNotifier } from "../subscriptions/notifier.ts";

/** A progress line on stderr, redrawn at most 5 times a second, only on a terminal. */
export function progress(label: string, totalBytes?: () => number) {
  const tty = Deno.stderr.isTerminal();
  const started = performance.now();
  let last = 0;
  const enc = new TextEncoder();
  return {
    update(report: ImportReport, force = false) {
      const now = performance.now();
      if (!tty || (!force && now - last < 200)) return;
      last = now;
      const rate = report.read / Math.max(0.001, (now - started) / 1000);
      const frac = totalBytes ? Math.min(1, totalBytes()) : undefined;
      const bar = frac === undefined ? "" : `[${"#".repeat(Math.round(frac * 30)).padEnd(30, ".")}] ` +
        `${(frac * 100).toFixed(0).padStart(3)}% `;
      const line = `\r${label} ${bar}${report.read} records, ${report.rejectedCount} rejected, ` +
        `${Math.round(rate)}/s`;
      Deno.stderr.writeSync(enc.encode(line));
    },
    done() {
      if (tty) Deno.stderr.writeSync(enc.encode("\n"));
    },
    seconds: () => (performance.now() - started) / 1000,
  };
}

/** Rejected rows shown to people; --json carries all the report kept (MAX_REJECTIONS_KEPT). */
const REJECTED_SHOWN = 50;

/** The table of the first rejected rows (line, reason) and how many more there were. */
export function rejectedLines(
  report: { rejectedCount: number; rejected: ReadonlyArray<{ line: number; reason: string }> },
): string[] {
  if (report.rejectedCount === 0) return [];
  const shown = report.rejected.slice(0, REJECTED_SHOWN);
  const lines = [table(shown, ["line", "reason"])];
  const more = report.rejectedCount - shown.length;
  if (more > 0) {
    lines.push(
      `... and ${more} more rejected (--json lists ${report.rejected.length} of the ${report.rejectedCount})`,
    );
  }
  return lines;
}

/** The import summary line and the rejected rows; under --json the report with snake_case counts. */
export function printReport(
  print: Printer,
  report: ImportReport,
  seconds: number,
  options: { extra?: Record<string, unknown>; after?: string } = {},
): void {
  print.done(
    `read ${report.read}, registered ${report.registered}, updated ${report.updated}, ` +
      `rejected ${report.rejectedCount} in ${seconds.toFixed(1)} s`,
    {
      read: report.read,
      registered: report.registered,
      updated: report.updated,
      rejected_count: report.rejectedCount,
      rejected: report.rejected,
      seconds: Math.round(seconds * 10) / 10,
      ...options.extra,
    },
    { more: [...rejectedLines(report), ...(options.after ? [options.after] : [])] },
  );
}

/** Exit EXIT_REJECTED when rows were rejected, unless the operator accepts rejects. */
function refuseRejects(report: ImportReport, allow: unknown): void {
  if (report.rejectedCount === 0 || allow) return;
  throw new CliFailure(
    `${report.rejectedCount} row(s) rejected, the others imported; fix them and import again, or pass ` +
      `--allow-rejects to accept (exit ${EXIT_REJECTED})`,
    EXIT_REJECTED,
    { wrote: report.registered + report.updated > 0 },
  );
}

/** The `--registry` option (social when absent); a usage error names the known registries. */
function registryOption(v: unknown): RegistryProfile {
  const name = v === undefined ? "social" : String(v);
  const profile = profileOf(name);
  if (!profile) {
    throw new UsageError(
      `--registry: unknown registry "${name}" (${registryProfiles().map((p) => p.name).join(", ")})`,
    );
  }
  return profile;
}

const REGISTRY_OPTION = {
  type: "string",
  description: "the registry the records belong to: social (default), crvs, fr, dr, ibr",
} as const;

/** Loads records of `registry`; a load into an empty registry defers its search indexes (see bulk.ts). */
async function load(
  deps: Deps,
  batches: AsyncIterable<PreparedBatch>,
  options: { label: string; registry: string; batchSize: number; totalBytes?: () => number; bulk?: boolean },
): Promise<{ report: ImportReport; seconds: number }> {
  const bar = progress(options.label, options.totalBytes);
  // The time of the writes, before the deferred indexes are rebuilt.
  let seconds = 0;
  // Records written so far (a batch commits as it ends): a load that fails after some is audited all the same.
  let written = 0;
  const timed = (async function* () {
    yield* batches;
    seconds = bar.seconds();
  })();
  try {
    const report = await deps.storage.registryLoad.bulkLoad(timed, {
      registry: options.registry,
      batchSize: options.batchSize,
      bulk: options.bulk,
      onProgress: (r) => {
        written = r.registered + r.updated;
        bar.update(r);
      },
    });
    wakeNotifier(deps);
    bar.update(report, true);
    return { report, seconds };
  } catch (e) {
    if (written > 0) wakeNotifier(deps);
    throw new CliFailure((e as Error).message, 1, { wrote: written > 0 });
  } finally {
    bar.done();
  }
}

function batchSizeOf(v: unknown): number {
  const n = v === undefined ? BATCH_RECORDS : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new UsageError("--batch must be 1 to 1000000");
  return n;
}

const importCommand: Command = {
  summary: "Import a registry's records from NDJSON, a JSON array or CSV (streamed, committed per batch; " +
    `social by default). Rejected rows are listed by line; any makes the exit code ${EXIT_REJECTED}`,
  usage: "FILE [--registry NAME] [--format ndjson|json|csv] [--batch N] [--allow-rejects]",
  args: [1, 1],
  options: {
    registry: REGISTRY_OPTION,
    format: { type: "string", description: "ndjson, json or csv (default: from the extension / content)" },
    batch: {
      type: "string",
      description:
        "records per transaction, 1 to 1000000 (default 5000; a first load of millions into an empty registry " +
        "goes faster with 500000: its page cache is ~4 KB a record of the batch, 200 MB to 4 GB)",
    },
    "allow-rejects": {
      type: "boolean",
      description:
        `Exit 0 even when rows were rejected (else ${EXIT_REJECTED}; the valid rows are imported either way)`,
    },
  },
  examples: [
    "registry import people.ndjson",
    "registry import births.csv --registry crvs --batch 20000",
    "registry import people.json --allow-rejects --json",
  ],
  async run({ config, positionals, values, print }) {
    const path = positionals[0];
    const profile = registryOption(values.registry);
    const batchSize = batchSizeOf(values.batch);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      throw new CliFailure(`cannot open ${path}: ${(e as Error).message}`);
    }
    const size = (await file.stat()).size;
    const head = new Uint8Array(64);
    const n = (await file.read(head)) ?? 0;
    const first = new TextDecoder().decode(head.subarray(0, n)).replace(/^\uFEFF/, "").trimStart()[0];
    let format;
    try {
      format = detectFormat(path, first, values.format as string | undefined);
    } catch (e) {
      file.close();
      throw new UsageError((e as Error).message);
    }
    file.close();
    let readBytes = 0;
    await withDeps(config(), async (deps) => {
      let result;
      try {
        const batches = workerBatches(path, {
          format,
          batchSize,
          registry: profile.name,
          sortRows: !await deps.storage.registryLoad.stagesKeyedRows(profile.name),
          now: () => new Date(deps.clock.now()).toISOString(),
          onBytes: (n) => readBytes = n,
        });
        result = await load(deps, batches, {
          label: `import ${profile.name} ${format}`,
          registry: profile.name,
          batchSize,
          totalBytes: () => size ? readBytes / size : 1,
        });
      } catch (e) {
        throw e instanceof CliFailure ? e : new CliFailure((e as Error).message);
      }
      printReport(print, result.report, result.seconds);
      refuseRejects(result.report, values["allow-rejects"]);
    }, { create: true }); // a first load may go into a new data dir before the server first starts
  },
};

const seedCommand: Command = {
  summary:
    "Add a deterministic synthetic registry: N persons in households (social; another registry's demo)",
  usage: "--demo N [--seed S] [--registry NAME]",
  options: {
    registry: REGISTRY_OPTION,
    demo: { type: "string", description: "number of persons (social) or records (its demo generator)" },
    seed: { type: "string", description: "random seed (default 1); same N and seed, same records" },
    batch: {
      type: "string",
      description: "records per transaction, 1 to 1000000 (default 5000; see import)",
    },
  },
  examples: ["registry seed --demo 1000", "registry seed --demo 500 --registry crvs --seed 7 --json"],
  run({ config, values, print }) {
    const n = Number(values.demo);
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isInteger(n) || n < 1 || n > 10_000_000) {
      throw new UsageError("--demo N: 1 to 10000000 persons");
    }
    if (!Number.isInteger(seed) || seed < 1 || seed > 1_000_000) throw new UsageError("--seed: 1 to 1000000");
    const batchSize = batchSizeOf(values.batch);
    const profile = registryOption(values.registry);
    return withDeps(config(), async (deps) => {
      let done = 0;
      const source = profile.name === "social" ? demoRecords(n, seed) : demoSource(profile, n, seed);
      const records = (function* () {
        for (const r of source) {
          if ((r.raw as { record_type?: string }).record_type !== "group") done++;
          yield r;
        }
      })();
      const batches = prepareBatches(
        records,
        batchSize,
        () => new Date(deps.clock.now()).toISOString(),
        profile,
      );
      const result = await load(deps, batches, {
        label: `seed ${profile.name}`,
        registry: profile.name,
        batchSize,
        totalBytes: () => Math.min(1, done / n),
      });
      printReport(print, result.report, result.seconds);
    }, { create: true });
  },
};

const statsCommand: Command = {
  summary: "Registrant counts (social, or --registry NAME: per record type) and the newest event id",
  usage: "[--registry NAME]",
  options: { registry: REGISTRY_OPTION },
  examples: ["registry stats", "registry stats --registry crvs --json"],
  run: ({ config, print, values }) =>
    withDeps(config(), async (deps) => {
      const profile = registryOption(values.registry);
      const c = await deps.storage.registry.counts(profile.name);
      const last = await deps.storage.registry.lastEventId();
      const row = profile.name === "social"
        ? { persons: c.person, groups: c.group, deleted: c.deleted, last_event_id: last }
        : { ...c, last_event_id: last };
      print.show(row, { registry: profile.name, ...row });
    }),
};

/** The registry command group. */
export const registryCommands: CommandTree = {
  import: importCommand,
  seed: seedCommand,
  stats: statsCommand,
};
