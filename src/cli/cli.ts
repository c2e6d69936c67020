/** A small command framework: a tree of commands, `--help` everywhere, exit codes 0 / 1 / 2. */
import { parseArgs } from "node:util";
import { type Config, ConfigError, ENV_FILE_FLAG, loadConfig, processEnv, SETTINGS } from "../config.ts";

/** Bad usage: unknown command or flag, missing argument. Exit code 2. */
export class UsageError extends Error {}

/** An operation that failed for a reason the operator can act on. Exit code 1, message only. */
export class CliFailure extends Error {}

type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean; description: string };

/** What a command receives. */
export interface CommandInput {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** The validated config (flags over environment over defaults). */
  config: () => Config;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** One runnable command. */
export interface Command {
  summary: string;
  /** Arguments after the command path, e.g. "KEY_ID" or "[--alg ed25519|rsa]". */
  usage?: string;
  options?: Record<string, OptionSpec>;
  /** Minimum and maximum number of positionals (default 0, 0). */
  args?: [number, number];
  run(input: CommandInput): Promise<number | void>;
}

/** A command group: names to commands or further groups. */
export interface CommandTree {
  [name: string]: Command | CommandTree;
}

const CONFIG_FLAGS: Record<string, OptionSpec> = {
  ...Object.fromEntries(
    SETTINGS.filter((s) => s.flag).map((
      s,
    ) => [s.flag!, { type: "string" as const, description: `${s.doc} (${s.env})` }]),
  ),
  [ENV_FILE_FLAG]: {
    type: "string",
    description: "Read settings from this file instead of ./.env (the real environment wins over both)",
  },
};

function isCommand(x: Command | CommandTree): x is Command {
  return typeof (x as Command).run === "function";
}

/** Runs argv against `tree`; returns the process exit code. */
export async function runCli(
  argv: string[],
  tree: CommandTree,
  io: { out?: (s: string) => void; err?: (s: string) => void; env?: Record<string, string | undefined> } = {},
): Promise<number> {
  const out = io.out ?? ((s: string) => console.log(s));
  const err = io.err ?? ((s: string) => console.error(s));
  let node: Command | CommandTree = tree;
  const path: string[] = [];
  let rest = [...argv];
  while (!isCommand(node)) {
    const next = rest[0];
    if (next === undefined && path.length === 0 && node.serve) {
      node = node.serve;
      path.push("serve");
      break;
    }
    if (next === undefined || next === "--help" || next === "-h" || next === "help") {
      out(groupHelp(path, node));
      return next === undefined ? 2 : 0;
    }
    if (next === "--version" && path.length === 0 && node.version) {
      node = node.version;
      path.push("version");
      rest = rest.slice(1);
      break;
    }
    if (next.startsWith("-") && path.length === 0 && node.serve) {
      node = node.serve;
      path.push("serve");
      break;
    }
    const child: Command | CommandTree | undefined = Object.hasOwn(node, next) ? node[next] : undefined;
    if (!child) {
      err(`dci-server: unknown command "${[...path, next].join(" ")}"\n\n${groupHelp(path, node)}`);
      return 2;
    }
    node = child;
    path.push(next);
    rest = rest.slice(1);
  }
  const cmd = node as Command;
  try {
    const options = {
      ...CONFIG_FLAGS,
      ...(cmd.options ?? {}),
      help: { type: "boolean", short: "h" },
    } as const;
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: options as never, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const values = parsed.values as CommandInput["values"];
    if (values.help) {
      out(commandHelp(path, cmd));
      return 0;
    }
    const [min, max] = cmd.args ?? [0, 0];
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(
        `expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}`,
      );
    }
    const flags: Record<string, string | undefined> = {};
    for (const name of Object.keys(CONFIG_FLAGS)) flags[name] = values[name] as string | undefined;
    let config: Config | undefined;
    const getConfig = () => config ??= loadConfig(flags, io.env ?? processEnv(flags[ENV_FILE_FLAG]));
    const code = await cmd.run({ values, positionals: parsed.positionals, config: getConfig, out, err });
    return code ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`dci-server ${path.join(" ")}: ${e.message}\n\n${commandHelp(path, cmd)}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    // An error that knows its exit code (a database a newer binary migrated: 2) is reported as it is.
    const exitCode = (e as { exitCode?: unknown })?.exitCode;
    if (typeof exitCode === "number") {
      err(`dci-server ${path.join(" ")}: ${(e as Error).message}`);
      return exitCode;
    }
    if (e instanceof CliFailure) {
      err(`dci-server ${path.join(" ")}: ${e.message}`);
      return 1;
    }
    err(`dci-server ${path.join(" ")}: ${(e as Error)?.message ?? String(e)}`);
    return 1;
  }
}

function groupHelp(path: string[], tree: CommandTree): string {
  const lines = [`Usage: dci-server ${[...path, "<command>"].join(" ")} [options]`, "", "Commands:"];
  for (const [name, child] of Object.entries(tree)) {
    const summary = isCommand(child) ? child.summary : `${Object.keys(child).join("|")}`;
    lines.push(`  ${name.padEnd(16)} ${summary}`);
  }
  lines.push("", `Run "dci-server ${[...path, "<command>"].join(" ")} --help" for a command's options.`);
  return lines.join("\n");
}

function commandHelp(path: string[], cmd: Command): string {
  const lines = [
    `Usage: dci-server ${path.join(" ")}${cmd.usage ? " " + cmd.usage : ""} [options]`,
    "",
    cmd.summary,
  ];
  const own = Object.entries(cmd.options ?? {}).map(([name, o]) =>
    [`--${name}${o.type === "string" ? " VALUE" : ""}`, o.description] as const
  );
  const settings = Object.entries(CONFIG_FLAGS).map(([name, o]) =>
    [`--${name} VALUE`, o.description] as const
  );
  // One column for every flag: the longest name plus two spaces (long ones used to run into their text).
  const width = Math.max(24, ...[...own, ...settings].map(([flag]) => flag.length)) + 2;
  const row = ([flag, text]: readonly [string, string]) => `  ${flag.padEnd(width)}${text}`;
  if (own.length) lines.push("", "Options:", ...own.map(row));
  lines.push("", "Settings (flags override environment variables):", ...settings.map(row));
  lines.push(row(["-h, --help", "Show this help"]));
  return lines.join("\n");
}

/** Formats rows as an aligned text table. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((r) => columns.map((c) => r[c] === null || r[c] === undefined ? "" : String(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n");
}
