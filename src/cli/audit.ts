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
import { targetKindOf } from "../audit/api_actions.ts";
import type { Printer } from "./output.ts";
import { noteMore } from "./paging.ts";

/**
 * How one write command is recorded: its action (the target kind is the admin API's for it: targetKindOf), where
 * its target id comes from, and values for the detail beyond its options.
 */
interface CliAction {
  action: string;
  /**
   * A positional index, two joined with "/", an option name, a field of the command's result (`done`: what it
   * created, such as a new client's id; only that field is read), or a function of the input.
   */
  id?: number | [number, number] | string | { done: string } | ((input: CommandInput) => string | undefined);
  /** Detail names to positional indexes (a key id given as an argument). */
  positionals?: Record<string, number>;
  /** Detail names to fields of the command's result (never secret: named here). */
  done?: Record<string, string>;
}

const onSender = (action: string, more: Omit<CliAction, "action"> = {}): CliAction => ({
  action,
  id: 0,
  ...more,
});
/** The registry a registry command works on (social when none is named). */
const registryOf = (input: CommandInput) =>
  typeof input.values.registry === "string" ? input.values.registry : "social";

/** The write commands, by command path: each as the admin API records the same action (src/audit/api_actions.ts). */
export const CLI_ACTIONS: Readonly<Record<string, CliAction | ((input: CommandInput) => CliAction)>> = {
  "sender add": onSender("sender.create"),
  "sender update": onSender("sender.update"),
  "sender disable": onSender("sender.disable"),
  "sender enable": onSender("sender.enable"),
  "sender remove": onSender("sender.delete"),
  "sender fetch-keys": onSender("sender_key.fetch", { done: { ok: "ok" } }),
  "sender key add": onSender("sender_key.add", { positionals: { key_id: 1 } }),
  "sender key remove": { action: "sender_key.remove", id: [0, 1] },
  "client create": { action: "client.create", id: { done: "client_id" } },
  "client revoke": { action: "client.revoke", id: 0 },
  "client rotate-secret": { action: "client.rotate_secret", id: 0 },
  "admin-token create": { action: "admin_token.create", id: { done: "id" } },
  "admin-token revoke": { action: "admin_token.revoke", id: 0 },
  "keys rotate": { action: "server_key.rotate", id: { done: "key_id" } },
  "keys retire": { action: "server_key.retire", id: 0 },
  "txn retry": { action: "transaction.retry", id: 0 },
  "subscription approve": { action: "subscription.approve", id: 0 },
  "subscription cancel": { action: "subscription.cancel", id: 0 },
  "subscription reactivate": { action: "subscription.reactivate", id: 0 },
  "subscription create": { action: "subscription.create", id: { done: "code" } },
  "subscription import": {
    action: "subscription.import",
    done: { read: "read", created: "created", rejected: "rejected_count" },
  },
  "notification retry": (input) =>
    typeof input.values.subscription === "string"
      ? { action: "subscription.retry_notifications", id: "subscription" }
      : { action: "notification.retry", id: 0 },
  "registry import": { action: "registry.import", id: registryOf },
  "registry seed": { action: "registry.seed", id: registryOf },
  "registry import-locations": { action: "locations.import" },
  migrate: { action: "system.migrate", done: { schema_version: "schema_version" } },
  restore: { action: "system.restore", positionals: { file: 0 }, done: { kept: "kept" } },
};

/** The OS user running the command (for the audit actor `cli`). */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/**
 * Who started the command, where the OS user is a service account shared by every operator (`sudo -u dci`, the
 * container's user): sudo's `SUDO_USER`, and the login uid of the session (Linux audit's, unset for a daemon).
 */
function invokedBy(): Record<string, string> {
  const out: Record<string, string> = {};
  const sudo = Deno.env.get("SUDO_USER");
  if (sudo) out.sudo_user = sudo;
  try {
    const uid = Deno.readTextFileSync("/proc/self/loginuid").trim();
    if (/^\d+$/.test(uid) && uid !== "4294967295" && Number(uid) !== Deno.uid()) out.login_uid = uid;
  } catch {
    /* not Linux, or no audit support */
  }
  return out;
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

function audited(command: Command, of: CliAction | ((input: CommandInput) => CliAction)): Command {
  return {
    ...command,
    run: async (input) => {
      const spec = typeof of === "function" ? of(input) : of;
      // The result the command printed (its `done` document), for the id of what it created.
      let result: unknown;
      const print: Printer = {
        ...input.print,
        done: (line, doc, options) => {
          result = doc;
          input.print.done(line, doc, options);
        },
      };
      const run = { ...input, print };
      let code;
      try {
        code = await command.run(run);
      } catch (err) {
        // A failure after a write (an import that rejected some rows, exit 3) is recorded: rows were written.
        if (err instanceof CliFailure && err.wrote) await record(command, spec, run, result, err.exitCode);
        throw err;
      }
      if ((code ?? 0) === 0) await record(command, spec, run, result);
      return code;
    },
  };
}

/**
 * Writes the audit entry of one write command (`exitCode` when it wrote and then failed). A failed insert is
 * said on stderr and does not change the exit code: the write is done (a secret it created already printed), and a
 * script that read a failure would do it again.
 */
async function record(
  command: Command,
  spec: CliAction,
  input: CommandInput,
  result: unknown,
  exitCode?: number,
) {
  const config = input.config();
  if (config.dataDir === ":memory:" && config.databaseUrl === "") return;
  try {
    // The command has migrated the database already: one row needs only the stores, not a second set of
    // deps (KV, keys) for every write command.
    const opened = await openStorage(config);
    try {
      const extra: Record<string, unknown> = { ...invokedBy() };
      for (const [name, i] of Object.entries(spec.positionals ?? {})) {
        if (input.positionals[i] !== undefined) extra[name] = input.positionals[i];
      }
      for (const [name, field] of Object.entries(spec.done ?? {})) {
        const v = fieldOf(result, field);
        if (v !== undefined) extra[name] = v;
      }
      if (exitCode !== undefined) extra.exit_code = exitCode;
      await opened.storage.audit.record({
        source: "cli",
        actor: { kind: "cli", id: osUser() },
        action: spec.action,
        target: { kind: targetKindOf(spec.action), id: targetId(spec, input, result) },
        detail: auditDetail(optionsGiven(command, input), extra),
      }, Date.now());
    } finally {
      await opened.close();
    }
  } catch (err) {
    input.err(
      `dci-server: warning: the write is done but its audit record failed: ${(err as Error).message}`,
    );
  }
}

/** A field of a command's result, when it is a string, number, boolean or a list of them. */
function fieldOf(result: unknown, name: string): unknown {
  const v = result && typeof result === "object" ? (result as Record<string, unknown>)[name] : undefined;
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" || Array.isArray(v)
    ? v
    : undefined;
}

function targetId(spec: CliAction, input: CommandInput, result: unknown): string | undefined {
  const id = spec.id;
  if (typeof id === "number") return input.positionals[id];
  if (Array.isArray(id)) return `${input.positionals[id[0]]}/${input.positionals[id[1]]}`;
  if (typeof id === "function") return id(input);
  if (typeof id === "object") {
    const v = fieldOf(result, id.done);
    return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
  }
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
      noteMore(print, page.next_before);
    });
  },
};

/** The audit command group. */
export const auditCommands: CommandTree = { audit: { list: listCommand } };
