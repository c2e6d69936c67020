/** `dci-server txn list|show|retry`: inspect async transactions and retry a failed callback. */
import { CliFailure, type Command, type CommandTree, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import { BEFORE_OPTION, beforeOf, noteMore } from "./paging.ts";
import { TXN_ACTIONS, TXN_STATES } from "../transactions/states.ts";
import {
  detail,
  findTxn,
  listTxns,
  retryCallback,
  retryRefusalMessage,
  summarize,
} from "../transactions/operations.ts";

const txnList: Command = {
  summary: "List async transactions, newest first",
  usage: "[--state S] [--action A] [--sender ID] [--limit N] [--before N]",
  options: {
    state: { type: "string", description: `Only this state (${TXN_STATES.join("|")})` },
    action: { type: "string", description: `Only this action (${TXN_ACTIONS.join("|")})` },
    sender: { type: "string", description: "Only this sender_id" },
    limit: { type: "string", description: "At most this many rows (default 50)" },
    before: BEFORE_OPTION,
  },
  examples: [
    "txn list --state callback_failed",
    "txn list --sender spmis.example --action search --limit 20 --json",
  ],
  run: ({ config, values, print }) => {
    const state = values.state as string | undefined;
    const action = values.action as string | undefined;
    if (state && !(TXN_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`unknown state "${state}"`);
    }
    if (action && !(TXN_ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(`unknown action "${action}"`);
    }
    const limit = Number(values.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new UsageError("--limit must be 1..10000");
    }
    const before = beforeOf(values.before);
    return withDeps(config(), async (deps) => {
      const page = await listTxns(deps, {
        state,
        action,
        senderId: values.sender as string | undefined,
        before,
        limit,
      });
      print.list(page.items, [
        "correlation_id",
        "transaction_id",
        "sender_id",
        "action",
        "state",
        "status",
        "attempts",
        "last_error",
        "created_at",
      ], page);
      noteMore(print, page.next_before);
    });
  },
};

/** The columns of the callback attempt table of `txn show` (the URL is in the record and in --json). */
const ATTEMPT_COLUMNS = [
  "attempt",
  "started_at",
  "duration_ms",
  "outcome",
  "http_status",
  "receiver_code",
  "error",
] as const;

const txnShow: Command = {
  summary:
    "Show one transaction by correlation_id: its state, callback, request, result and callback attempts",
  usage: "CORRELATION_ID",
  args: [1, 1],
  examples: [
    "txn show 0b8f3c52-6f1e-4f0a-9d8e-2c1a7b5e4d90",
    "txn show 0b8f3c52-6f1e-4f0a-9d8e-2c1a7b5e4d90 --json",
  ],
  run: ({ config, positionals, print }) =>
    withDeps(config(), async (deps) => {
      const row = await findTxn(deps, positionals[0]);
      if (!row) throw new CliFailure(`no transaction with correlation_id ${positionals[0]}`);
      const full = await detail(deps, row);
      // For people the attempt history is a table after the record; --json gives the admin API's document.
      const { callback_attempts: attempts, callback_attempts_omitted: omitted, ...rest } = full;
      const count = `${attempts.length} (table below)${omitted ? `; ${omitted} older not kept` : ""}`;
      print.show({ ...rest, callback_attempts: count }, full);
      if (!print.json && attempts.length) print.list(attempts, ATTEMPT_COLUMNS);
    }),
};

const txnRetry: Command = {
  summary:
    "Retry the callback of a transaction in callback_failed; a running server's worker finds it within seconds",
  usage: "CORRELATION_ID",
  args: [1, 1],
  examples: ["txn retry 0b8f3c52-6f1e-4f0a-9d8e-2c1a7b5e4d90"],
  run: ({ config, positionals, print }) =>
    withDeps(config(), async (deps) => {
      const r = await retryCallback(deps, positionals[0]);
      if (!r.ok) throw new CliFailure(retryRefusalMessage(positionals[0], r.reason, r.state));
      print.done(
        `callback retry scheduled: ${r.row.correlation_id} (state ${r.row.state})`,
        summarize(r.row),
      );
    }),
};

/** The txn command group. */
export const transactionCommands: CommandTree = { list: txnList, show: txnShow, retry: txnRetry };
