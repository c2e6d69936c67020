/** The CLI run in this process (no subprocess): its exit code and what it printed. */
import { equal } from "node:assert/strict";
import { runCli } from "../../src/cli/cli.ts";
import { COMMANDS } from "../../src/cli/commands.ts";

/** Runs `args` with `env` as the whole environment (logs at error unless it says otherwise). */
export async function runCliIn(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, COMMANDS, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env: { DCI_LOG_LEVEL: "error", ...env },
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** runCliIn, asserting exit 0 (the failure names the command and its stderr). */
export async function runCliOk(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ stdout: string; stderr: string }> {
  const r = await runCliIn(args, env);
  equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return r;
}
