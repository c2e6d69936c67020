/**
 * Builds the release binaries: `deno task compile` once per target (linux x64/arm64, macOS x64/arm64, Windows
 * x64) into dist/, then dist/SHA256SUMS (`sha256sum -c` format). The flags are read from deno.json's compile
 * task, so the release binaries are built exactly as `deno task compile` builds one. `--dry-run` prints the
 * commands without running them; `--target NAME` (repeatable) builds only those.
 *   deno task compile:all [--dry-run] [--target linux-x64]
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import denoJson from "../deno.json" with { type: "json" };

/** A release target: its file-name suffix and deno's `--target` triple. */
export interface Target {
  name: string;
  triple: string;
  exe: string;
}

/** Every target a release has. */
export const TARGETS: readonly Target[] = [
  { name: "linux-x64", triple: "x86_64-unknown-linux-gnu", exe: "" },
  { name: "linux-arm64", triple: "aarch64-unknown-linux-gnu", exe: "" },
  { name: "macos-x64", triple: "x86_64-apple-darwin", exe: "" },
  { name: "macos-arm64", triple: "aarch64-apple-darwin", exe: "" },
  { name: "windows-x64", triple: "x86_64-pc-windows-msvc", exe: ".exe" },
];

/** One build: the `deno` arguments and the file it writes. */
export interface Build {
  target: Target;
  output: string;
  args: string[];
}

/**
 * The builds of `targets` from a compile task (`deno compile <flags> --output <path> <entry>`): the same flags
 * and entry point, `--target` added and the output named after the target, in the same directory.
 */
export function planBuilds(compileTask: string, targets: readonly Target[] = TARGETS): Build[] {
  if (/["'`$\\]/.test(compileTask)) throw new Error("the compile task must be plain words (no quoting)");
  const words = compileTask.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "compile") {
    throw new Error(`not a deno compile task: ${compileTask}`);
  }
  const rest = words.slice(2);
  const at = rest.indexOf("--output");
  if (at < 0 || at + 1 >= rest.length) throw new Error("the compile task has no --output");
  const output = rest[at + 1];
  if (rest.some((w) => w.startsWith("--target"))) throw new Error("the compile task must not pin a --target");
  const flags = rest.filter((_, i) => i !== at && i !== at + 1);
  const entry = flags.pop()!;
  return targets.map((target) => {
    const file = `${output}-${target.name}${target.exe}`;
    return {
      target,
      output: file,
      args: ["compile", ...flags, "--target", target.triple, "--output", file, entry],
    };
  });
}

/** The SHA256SUMS text of `files` (paths), named by their base names, sorted: `<hex>  <name>` lines. */
export async function checksums(files: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const file of files) {
    const hash = createHash("sha256");
    using f = await Deno.open(file);
    for await (const chunk of f.readable) hash.update(chunk);
    lines.push(`${hash.digest("hex")}  ${file.slice(file.lastIndexOf("/") + 1)}`);
  }
  return lines.sort((a, b) => a.slice(66).localeCompare(b.slice(66))).map((l) => `${l}\n`).join("");
}

/** Writes `SHA256SUMS` beside `files` (all in `dir`); returns its path. */
export async function writeChecksums(dir: string, files: readonly string[]): Promise<string> {
  const path = `${dir}/SHA256SUMS`;
  await Deno.writeTextFile(path, await checksums(files));
  return path;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { "dry-run": { type: "boolean" }, target: { type: "string", multiple: true } },
  });
  const wanted = values.target ?? TARGETS.map((t) => t.name);
  const unknown = wanted.filter((w) => !TARGETS.some((t) => t.name === w));
  if (unknown.length) {
    console.error(`unknown target ${unknown.join(", ")}; targets: ${TARGETS.map((t) => t.name).join(", ")}`);
    return 2;
  }
  const builds = planBuilds(denoJson.tasks.compile, TARGETS.filter((t) => wanted.includes(t.name)));
  if (values["dry-run"]) {
    for (const b of builds) console.log(["deno", ...b.args].join(" "));
    return 0;
  }
  for (const b of builds) {
    console.error(`building ${b.output}`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: b.args,
      stdout: "inherit",
      stderr: "inherit",
    })
      .output();
    if (code !== 0) return code;
  }
  const dir = builds[0].output.slice(0, builds[0].output.lastIndexOf("/")) || ".";
  console.error(`wrote ${await writeChecksums(dir, builds.map((b) => b.output))}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
