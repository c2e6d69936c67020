/**
 * A small command framework: a tree of commands, `--help` (ending in examples) everywhere, `--json` on every
 * command but `serve`, exit codes 0 / 1 / 2 (and 3: `registry import` rejected rows).
 */
import { parseArgs } from "node:util";
import { type Config, ConfigError, ENV_FILE_FLAG, loadConfig, processEnv, SETTINGS } from "../config.ts";
import { type Printer, printer } from "./output.ts";
import { KekSettingError } from "../keys/kek.ts";

/** Bad usage: unknown command or flag, missing argument. Exit code 2. */
export class UsageError extends Error {}

/** An operation that failed for a reason the operator can act on. Exit code 1 (or `exitCode`), message only. */
export class CliFailure extends Error {
  /** The command wrote data before it failed (an import that rejected some rows): it is audited all the same. */
  readonly wrote: boolean;
  constructor(message: string, readonly exitCode = 1, options: { wrote?: boolean } = {}) {
    super(message);
    this.wrote = options.wrote === true;
  }
}

/** The exit code of an import that rejected rows (without --allow-rejects). */
export const EXIT_REJECTED = 3;

type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean; description: string };

/** What a command receives. */
export interface CommandInput {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** The validated config (flags over environment over defaults). */
  config: () => Config;
  /** How the command prints its result (people or --json): the one output path of a command. */
  print: Printer;
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
  /**
   * 1 to 3 real invocations, shown at the end of --help (without the leading "dci-server "). Every command has
   * them (tests/operations/cli_help_test.ts holds each command of the table to it).
   */
  examples?: string[];
  /** False for a command with no result to print (serve): it takes no --json. */
  json?: false;
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

/** The settings flags with their values (`--data-dir D`, `--port=8080`) that `argv` starts with. */
function leadingSettings(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length) {
    const m = /^--([^=]+)(=)?/.exec(argv[i]);
    if (!m || !Object.hasOwn(CONFIG_FLAGS, m[1])) break;
    if (m[2]) i += 1;
    else if (i + 1 < argv.length) i += 2;
    else break;
  }
  return argv.slice(0, i);
}

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
  // Settings flags before the command (`--data-dir D keys list`) are global: they go to the command found after.
  const globals = leadingSettings(argv);
  let rest = argv.slice(globals.length);
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
      const message = `dci-server: unknown command "${[...path, next].join(" ")}"`;
      if (argv.includes("--json")) err(JSON.stringify({ error: { kind: "usage", message, exit_code: 2 } }));
      else err(`${message}\n\n${groupHelp(path, node)}`);
      return 2;
    }
    node = child;
    path.push(next);
    rest = rest.slice(1);
  }
  const cmd = node as Command;
  rest = [...globals, ...rest];
  const json = cmd.json !== false && rest.includes("--json");
  const fail = (message: string, code: number, kind: string, help = "") => {
    if (json) err(JSON.stringify({ error: { kind, message, exit_code: code } }));
    else err(`${message}${help}`);
    return code;
  };
  const where = `dci-server ${path.join(" ")}`;
  try {
    const options = {
      ...CONFIG_FLAGS,
      ...(cmd.options ?? {}),
      ...(cmd.json === false ? {} : { json: JSON_OPTION }),
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
    const env = io.env ?? await processEnv(flags[ENV_FILE_FLAG]);
    const getConfig = () => config ??= loadConfig(flags, env);
    const print = printer(json, out, err);
    const code = await cmd.run({
      values,
      positionals: parsed.positionals,
      config: getConfig,
      print,
      out,
      err,
    });
    return code ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      return fail(`${where}: ${e.message}`, 2, "usage", `\n\n${commandHelp(path, cmd)}`);
    }
    if (e instanceof ConfigError) return fail(e.message, 2, "config");
    // An error that knows its exit code (no database in the data dir, a database a newer binary migrated: 2) is
    // reported with it; 2 is bad usage, a KEK setting's error being the configuration's.
    const exitCode = (e as { exitCode?: unknown })?.exitCode;
    if (typeof exitCode === "number") {
      const kind = e instanceof KekSettingError ? "config" : exitCode === 2 ? "usage" : "failed";
      return fail(`${where}: ${(e as Error).message}`, exitCode, kind);
    }
    return fail(`${where}: ${(e as Error)?.message ?? String(e)}`, 1, "failed");
  }
}

const JSON_OPTION: OptionSpec = {
  type: "boolean",
  description: "Print the result as one JSON document on stdout (errors as JSON on stderr)",
};

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
  const ownOptions = { ...cmd.options, ...(cmd.json === false ? {} : { json: JSON_OPTION }) };
  const own = Object.entries(ownOptions).map(([name, o]) =>
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
  if (cmd.examples?.length) lines.push("", "Examples:", ...cmd.examples.map((e) => `  dci-server ${e}`));
  return lines.join("\n");
}
