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

/**
 * The permissions a test or benchmark runs `main.ts` with, in place of `-A`: everything the server needs, but
 * network access only to this machine's loopback (and the wildcard binds), so a server under test can neither
 * connect off the machine nor look a name up in DNS, whatever its SSRF guard lets through (Deno refuses it
 * with NotCapable). Tests that probe the guard end to end also run inside a loopback-only network namespace
 * (tests/helpers/netns.ts).
 */
export const LOOPBACK_ONLY: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-net=127.0.0.1,[::1],localhost,0.0.0.0,[::]",
];
