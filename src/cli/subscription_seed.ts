/** `dci-server subscription create` and `dci-server subscription import FILE`: seeding partners' test subscriptions. */
import { CliFailure, type Command, EXIT_REJECTED, UsageError } from "./cli.ts";
import { rejectedLines } from "./registry.ts";
import { withDeps } from "./system.ts";
import { subscriptionView } from "../subscriptions/operations.ts";
import { importSubscriptions, SeedError, type SeedReport, seedSubscription } from "../subscriptions/seed.ts";
import { detectFormat, recordsOf } from "../registry/sources.ts";
import { VITAL_EVENT_NAMES, VITAL_EVENT_TYPES } from "../registries/crvs/vocabulary.ts";
import { IBR_EVENT_TYPES } from "../registries/ibr/attributes.ts";

/** The crvs vital events as its spec names them (`LiveBirth` of `spdci-common:RegistryEventType:LiveBirth`). */
const CRVS_EVENTS = VITAL_EVENT_TYPES.map((t) => VITAL_EVENT_NAMES[t][0].split(":").pop()).join(", ");
/** The ibr event types, the only ones its subscriptions take. */
const IBR_EVENTS = IBR_EVENT_TYPES.map((t) => t.names[0]).join(" or ");

/** The largest import file read (subscription fixtures are small; the file is read whole). */
const MAX_IMPORT_BYTES = 16 * 1024 * 1024;

function jsonFlag(values: Record<string, unknown>, flag: string): unknown {
  const raw = values[flag] as string | undefined;
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--${flag} must be JSON: ${(e as Error).message}`);
  }
}

const create: Command = {
  summary:
    "Create an active subscription for a sender, with a chosen code (checked as a subscribe request is)",
  usage: "--sender ID --event TYPE --record-type TYPE [--code CODE] [--filter JSON] [--notify-url URL] [...]",
  options: {
    sender: { type: "string", description: "The sender's id (required)" },
    code: { type: "string", description: "The subscription code, e.g. sub-test-001 (default: a fresh UUID)" },
    event: {
      type: "string",
      description:
        `reg_event_type: REGISTER, UPDATE or DELETE; crvs also its vital events (${CRVS_EVENTS}); ` +
        `ibr only ${IBR_EVENTS} (required)`,
    },
    "record-type": { type: "string", description: "notify_record_type: Person, Member, Group, … (required)" },
    filter: { type: "string", description: 'filter as JSON, e.g. {"type":"UIN","value":"TEST-001"}' },
    "filter-type": { type: "string", description: "filter_type: idtype-value, expression or predicate" },
    "reg-type": {
      type: "string",
      description: "reg_type echoed in answers, e.g. ns:org:RegistryType:Social",
    },
    frequency: { type: "string", description: 'frequency as JSON: {"start_time","end_time","frequency"}' },
    "notify-url": {
      type: "string",
      description:
        "Where notifications are POSTed, as given (default: sender's callback URL + /registry/notify)",
    },
    registry: { type: "string", description: "social (default), crvs, ibr, fr or dr" },
    locale: { type: "string", description: "Three lowercase letters, e.g. eng" },
    "reference-id": {
      type: "string",
      description: "reference_id shown by status answers (default: the code)",
    },
  },
  examples: [
    "subscription create --sender spmis.example --event UPDATE --record-type Person --code sub-test-001",
    `subscription create --sender spmis.example --event REGISTER --record-type Person --filter '{"type":"UIN","value":"TEST-001"}' --json`,
  ],
  run: ({ config, values, print }) => {
    if (values.sender === undefined) throw new UsageError("--sender is required");
    const criteria = Object.fromEntries(
      Object.entries({
        reg_type: values["reg-type"],
        reg_event_type: values.event,
        notify_record_type: values["record-type"],
        filter_type: values["filter-type"],
        filter: jsonFlag(values, "filter"),
        frequency: jsonFlag(values, "frequency"),
      }).filter(([, v]) => v !== undefined),
    );
    const input = Object.fromEntries(
      Object.entries({
        sender_id: values.sender,
        code: values.code,
        reference_id: values["reference-id"],
        registry: values.registry,
        notify_url: values["notify-url"],
        locale: values.locale,
        subscribe_criteria: criteria,
      }).filter(([, v]) => v !== undefined),
    );
    return withDeps(config(), async (deps) => {
      try {
        const row = await seedSubscription(deps, input);
        print.done(
          `created: ${row.code} (sender ${row.sender_id}, state ${row.state}, notifications to ${row.callback_url})`,
          subscriptionView(row),
        );
      } catch (err) {
        if (err instanceof SeedError) throw new CliFailure(err.message);
        throw err;
      }
    });
  },
};

async function* chunksOf(text: string): AsyncGenerator<string> {
  yield text;
}

const importCommand: Command = {
  summary:
    `Create subscriptions from NDJSON or a JSON array, one record each (exit ${EXIT_REJECTED} if any is refused)`,
  usage: "FILE [--format ndjson|json] [--allow-rejects]",
  args: [1, 1],
  options: {
    format: { type: "string", description: "ndjson or json (default: from the extension / content)" },
    "allow-rejects": { type: "boolean", description: "Exit 0 even when records were refused" },
  },
  examples: ["subscription import partner-subscriptions.ndjson", "subscription import subs.json --json"],
  async run({ config, positionals, values, print }) {
    const path = positionals[0];
    let text: string;
    try {
      const size = (await Deno.stat(path)).size;
      if (size > MAX_IMPORT_BYTES) throw new Error(`larger than ${MAX_IMPORT_BYTES} bytes`);
      text = (await Deno.readTextFile(path)).replace(/^\uFEFF/, "");
    } catch (e) {
      throw new CliFailure(`cannot read ${path}: ${(e as Error).message}`);
    }
    let format;
    try {
      format = detectFormat(path, text.trimStart()[0], values.format as string | undefined);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (format === "csv") throw new UsageError("subscription import reads ndjson or json, not csv");
    const report = await withDeps(config(), async (deps) => {
      const sofar: SeedReport = { read: 0, created: [], rejectedCount: 0, rejected: [] };
      try {
        return await importSubscriptions(deps, recordsOf(format, chunksOf(text)), sofar);
      } catch (e) {
        // The file could not be split into records from some point on (e.g. not a JSON array): the ones before it
        // were created, and the command is audited for them.
        throw new CliFailure(`${path}: ${(e as Error).message} (records before it were imported)`, 1, {
          wrote: sofar.created.length > 0,
        });
      }
    });
    print.done(
      `read ${report.read}, created ${report.created.length}, rejected ${report.rejectedCount}`,
      {
        read: report.read,
        created: report.created,
        rejected_count: report.rejectedCount,
        rejected: report.rejected,
      },
      { more: rejectedLines(report) },
    );
    if (report.rejectedCount > 0 && !values["allow-rejects"]) {
      throw new CliFailure(
        `${report.rejectedCount} record(s) refused (--allow-rejects accepts)`,
        EXIT_REJECTED,
        { wrote: report.created.length > 0 },
      );
    }
  },
};

/** The seeding commands of the `subscription` group. */
export const subscriptionSeedCommands = { create, import: importCommand };
