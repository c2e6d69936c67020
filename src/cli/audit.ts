/**
 * The audit log from the command line: `dci-server audit list`, and the wrapper that records every write
 * command (the CLI_ACTIONS table) with the actor `cli` and the operating system user once it has succeeded, or
 * failed after writing (an import that rejected some rows: exit 3).
 */
import { userInfo } from "node:os";
import { CliFailure, type Command, type CommandInput, type CommandTree, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import { openStorage } from "../deps.ts";
import { auditDetail } from "../audit/log.ts";

/** How one write command is recorded: its action, target kind and which argument or option names the target. */
interface CliAction {
  action: string;
  target: string;
  /** A positional index, two joined with "/", or an option name. */
  id?: number | [number, number] | string;
}

const onSender = (action: string, id: CliAction["id"] = 0): CliAction => ({ action, target: "sender", id });

/** The write commands, by command path. */
export const CLI_ACTIONS: Readonly<Record<string, CliAction>> = {
  "sender add": onSender("sender.create"),
  "sender update": onSender("sender.update"),
  "sender disable": onSender("sender.disable"),
  "sender enable": onSender("sender.enable"),
  "sender remove": onSender("sender.delete"),
  "sender fetch-keys": onSender("sender_key.fetch"),
  "sender key add": onSender("sender_key.add"),
  "sender key remove": { action: "sender_key.remove", target: "sender_key", id: [0, 1] },
  "client create": onSender("client.create", "sender"),
  "client revoke": { action: "client.revoke", target: "client", id: 0 },
  "client rotate-secret": { action: "client.rotate_secret", target: "client", id: 0 },
  "admin-token create": { action: "admin_token.create", target: "admin_token" },
  "admin-token revoke": { action: "admin_token.revoke", target: "admin_token", id: 0 },
  "keys rotate": { action: "server_key.rotate", target: "server_key" },
  "keys retire": { action: "server_key.retire", target: "server_key", id: 0 },
  "txn retry": { action: "transaction.retry", target: "transaction", id: 0 },
  "subscription approve": { action: "subscription.approve", target: "subscription", id: 0 },
  "subscription cancel": { action: "subscription.cancel", target: "subscription", id: 0 },
  "subscription reactivate": { action: "subscription.reactivate", target: "subscription", id: 0 },
  "subscription create": { action: "subscription.create", target: "subscription", id: "code" },
  "subscription import": { action: "subscription.import", target: "subscription" },
  "notification retry": { action: "notification.retry", target: "notification", id: 0 },
  "registry import": { action: "registry.import", target: "registry", id: "registry" },
  "registry seed": { action: "registry.seed", target: "registry", id: "registry" },
  "registry import-locations": { action: "locations.import", target: "locations" },
};

/** The OS user running the command (for the audit actor `cli`). */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** `tree` with each command named in CLI_ACTIONS recording itself in the audit log after it succeeded. */
export function auditedCommands(tree: CommandTree, path: string[] = []): CommandTree {
  const out: CommandTree = {};
  for (const [name, node] of Object.entries(tree)) {
    const here = [...path, name];
    const spec = CLI_ACTIONS[here.join(" ")];
    if (typeof (node as Command).run !== "function") out[name] = auditedCommands(node as CommandTree, here);
    else out[name] = spec ? audited(node as Command, spec) : node;
  }
  return out;
}

function audited(command: Command, spec: CliAction): Command {
  return {
    ...command,
    run: async (input) => {
      let code;
      try {
        code = await command.run(input);
      } catch (err) {
        // A failure after a write (an import that rejected some rows, exit 3) is recorded: rows were written.
        if (err instanceof CliFailure && err.wrote) await record(command, spec, input, err.exitCode);
        throw err;
      }
      if ((code ?? 0) === 0) await record(command, spec, input);
      return code;
    },
  };
}

/** Writes the audit entry of one write command (`exitCode` when it wrote and then failed). */
async function record(command: Command, spec: CliAction, input: CommandInput, exitCode?: number) {
  const config = input.config();
  if (config.dataDir === ":memory:" && config.databaseUrl === "") return;
  // The command has migrated the database already: one row needs only the stores, not a second set of
  // deps (KV, keys) for every write command.
  const opened = await openStorage(config);
  try {
    await opened.storage.audit.record({
      source: "cli",
      actor: { kind: "cli", id: osUser() },
      action: spec.action,
      target: { kind: spec.target, id: targetId(spec, input) },
      detail: auditDetail(
        optionsGiven(command, input),
        exitCode === undefined ? {} : { exit_code: exitCode },
      ),
    }, Date.now());
  } finally {
    await opened.close();
  }
}

function targetId(spec: CliAction, input: CommandInput): string | undefined {
  const id = spec.id;
  if (typeof id === "number") return input.positionals[id];
  if (Array.isArray(id)) return `${input.positionals[id[0]]}/${input.positionals[id[1]]}`;
  if (typeof id === "string") {
    return typeof input.values[id] === "string" ? input.values[id] as string : undefined;
  }
  return undefined;
}

/** The command's own options that were given (settings flags such as --data-dir are not part of the write). */
function optionsGiven(command: Command, input: CommandInput): Record<string, unknown> {
  const own = Object.keys(command.options ?? {});
  return Object.fromEntries(
    own.filter((k) => input.values[k] !== undefined).map((k) => [k, input.values[k]]),
  );
}

const listCommand: Command = {
  summary: "List the audit log of admin writes (API, CLI, console), newest first",
  usage: "[--actor ID] [--action A] [--target-kind K] [--target-id ID] [--since T] [--until T] [--json]",
  options: {
    actor: { type: "string", description: "Only this actor (admin token id, or OS user for cli)" },
    action: { type: "string", description: "Only this action, e.g. sender.update" },
    "target-kind": { type: "string", description: "Only this target kind, e.g. sender" },
    "target-id": { type: "string", description: "Only this target id" },
    since: { type: "string", description: "From this ISO time (inclusive)" },
    until: { type: "string", description: "Before this ISO time (exclusive)" },
    before: { type: "string", description: "Page cursor: the next_before of the previous page" },
    limit: { type: "string", description: "At most this many rows (default 50, at most 1000)" },
  },
  examples: ["audit list", "audit list --actor at_3f6c2a9e51d07b84 --since 2026-11-01", "audit list --json"],
  run: ({ config, values, print }) => {
    const str = (k: string) => typeof values[k] === "string" ? values[k] as string : undefined;
    const time = (k: string) => {
      const v = str(k);
      if (v === undefined) return undefined;
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw new UsageError(`--${k} must be an ISO date or time, not "${v}"`);
      return new Date(ms).toISOString();
    };
    const int = (k: string, max: number) => {
      const v = str(k);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${k} must be 1..${max}`);
      return n;
    };
    const filter = {
      actor: str("actor"),
      action: str("action"),
      targetKind: str("target-kind"),
      targetId: str("target-id"),
      since: time("since"),
      until: time("until"),
      before: int("before", Number.MAX_SAFE_INTEGER),
      limit: int("limit", 1000) ?? 50,
    };
    return withDeps(config(), async (deps) => {
      const page = await deps.storage.audit.list(filter);
      print.list(
        page.items.map((r) => ({
          ...r,
          actor: `${r.actor_kind}:${r.actor}`,
          detail: JSON.stringify(r.detail),
        })),
        ["id", "at", "source", "actor", "action", "target_kind", "target_id", "detail"],
        page,
      );
      if (page.next_before !== null) print.note(`(more: --before ${page.next_before})`);
    });
  },
};

/** The audit command group. */
export const auditCommands: CommandTree = { audit: { list: listCommand } };
