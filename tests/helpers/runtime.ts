/**
 * The deno flags a test or benchmark runs `main.ts` with: the unstable APIs and the V8 flags of `deno task start`
 * (read from deno.json, so a spawned server runs exactly as the task and the compiled binary do).
 */
import config from "../../deno.json" with { type: "json" };

/** The `--v8-flags=…` of a deno.json task, or [] if it has none. */
export function taskV8Flags(task: keyof typeof config.tasks): string[] {
  return config.tasks[task].split(" ").filter((word) => word.startsWith("--v8-flags="));
}

/** Flags for `deno run -A <RUN_FLAGS> main.ts …`. */
export const RUN_FLAGS: readonly string[] = ["--unstable-kv", "--unstable-cron", ...taskV8Flags("start")];
