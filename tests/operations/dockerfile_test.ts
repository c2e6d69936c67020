import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { validate } from "dockerfile-utils";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import denoJson from "../../deno.json" with { type: "json" };

const ROOT = new URL("../../", import.meta.url);
const TEXT = Deno.readTextFileSync(new URL("Dockerfile", ROOT));

/** The instructions of each build stage, in order (a stage starts at its FROM). */
function stages(text: string): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of DockerfileParser.parse(text).getInstructions()) {
    if (i.getKeyword() === "FROM") out.push([]);
    out[out.length - 1].push(i);
  }
  return out;
}

const args = (i: Instruction) => i.getArgumentsContent() ?? "";
const find = (stage: Instruction[], keyword: string) => stage.filter((i) => i.getKeyword() === keyword);

Deno.test("Dockerfile: dockerfile-utils reports nothing, and does report a broken copy of it", () => {
  deepEqual(validate(TEXT, {}).map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
  const broken = TEXT.replace(/CMD \["\/app\/dci-server", "healthcheck"\]/, "CMD").replace(
    /EXPOSE 8080/,
    "EXPOSE eighty",
  );
  ok(validate(broken, {}).length >= 2);
});

Deno.test("Dockerfile: the build stage compiles with deno.json's compile task on the pinned Deno", () => {
  const [build] = stages(TEXT);
  equal(args(build[0]), `denoland/deno:${Deno.version.deno} AS build`);
  const runs = find(build, "RUN").map(args).join(" ");
  match(runs, /deno task compile/);
  // The flags live only in deno.json: the Dockerfile never calls `deno compile` itself.
  equal(/deno compile/.test(runs), false);
  // Every source the compile task names (entry point, --include workers) is copied into the build stage.
  const copied = find(build, "COPY").flatMap((i) => args(i).split(/\s+/).slice(0, -1));
  const sources = denoJson.tasks.compile.split(/\s+/).filter((w) => /\.ts$/.test(w));
  ok(sources.length > 1);
  for (const src of sources) {
    ok(copied.some((c) => src === c || src.startsWith(c)), `${src} is not copied into the build stage`);
  }
});

/** The local files (paths under the repository) of the module graph rooted at `root`, as `deno info` lists them. */
async function localModules(root: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  equal(out.code, 0, `deno info ${root}: ${dec.decode(out.stderr)}`);
  const info = JSON.parse(dec.decode(out.stdout)) as {
    modules: Array<{ specifier: string; error?: string }>;
  };
  const broken = info.modules.filter((m) => m.error).map((m) => `${m.specifier}: ${m.error}`);
  deepEqual(broken, [], `deno info ${root} could not resolve every module`);
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith(ROOT.href)).map((s) =>
    decodeURIComponent(s.slice(ROOT.href.length))
  );
}

/** Whether the build stage's COPY sources (paths relative to the context, a directory with or without "/") hold `file`. */
function copiedBy(sources: string[], file: string): boolean {
  return sources.some((c) => {
    const path = c.replace(/^\.\//, "");
    if (path === "." || path === file) return true;
    const dir = path.endsWith("/") ? path : `${path}/`;
    return file.startsWith(dir);
  });
}

Deno.test("Dockerfile: the build stage copies every local module of main.ts and of each --include (deno info)", async () => {
  const [build] = stages(TEXT);
  // COPY's last argument is the destination; --from copies come from another stage, not from the context.
  const sources = find(build, "COPY").map(args).filter((a) => !a.startsWith("--from")).flatMap((a) =>
    a.split(/\s+/).filter((w) => !w.startsWith("--")).slice(0, -1)
  );
  const task = denoJson.tasks.compile.split(/\s+/);
  const roots = [task[task.length - 1], ...task.flatMap((w, i) => w === "--include" ? [task[i + 1]] : [])];
  ok(roots.length > 1 && roots[0] === "main.ts", roots.join(" "));
  const graph = new Set<string>();
  for (const root of roots) for (const file of await localModules(root)) graph.add(file);
  ok(graph.size > 100, `the module graph has ${graph.size} local files`);
  const missing = [...graph].filter((f) => !copiedBy(sources, f));
  deepEqual(
    missing,
    [],
    `${missing.join(", ")}: not copied into the build stage (COPY ${sources.join(" ")})`,
  );
  // Nor left out of the build context: .dockerignore's plain entries (no wildcard) name no module's folder.
  const ignored = Deno.readTextFileSync(new URL(".dockerignore", ROOT)).split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && !/[*?[!]/.test(l));
  deepEqual(
    [...graph].filter((f) => copiedBy(ignored, f)),
    [],
    ".dockerignore drops modules the build needs",
  );
  // And the check itself sees a missing directory.
  ok(!copiedBy(sources.filter((s) => !s.startsWith("migrations")), "migrations/0001_init.sql"));
});

Deno.test("Dockerfile: the runtime stage is slim, non-root, with a data volume, the port, a HEALTHCHECK and DCI_HOST=0.0.0.0", () => {
  const all = stages(TEXT);
  equal(all.length, 2);
  const run = all[1];
  match(args(run[0]), /^gcr\.io\/distroless\/cc-debian12/);
  // The binary is the compile task's --output.
  const output = denoJson.tasks.compile.match(/--output (\S+)/)?.[1];
  ok(output);
  const copy = find(run, "COPY").map(args).find((a) => a.startsWith(`/src/${output} `));
  ok(copy, `the runtime stage copies /src/${output}`);
  const users = find(run, "USER").map(args);
  ok(users.length > 0, "a USER is set");
  const user = users[users.length - 1].split(":")[0];
  notEqual(user, "root");
  notEqual(user, "0");
  const env = find(run, "ENV").map(args).join(" ");
  match(env, /\bDCI_HOST=0\.0\.0\.0\b/);
  const dataDir = env.match(/\bDCI_DATA_DIR=(\S+)/)?.[1];
  const port = env.match(/\bDCI_PORT=(\d+)/)?.[1];
  equal(JSON.parse(args(find(run, "VOLUME")[0]))[0], dataDir);
  equal(args(find(run, "EXPOSE")[0]), port);
  const health = find(run, "HEALTHCHECK");
  equal(health.length, 1);
  match(args(health[0]), /^CMD \["\/app\/dci-server", "healthcheck"\]$/);
  match(args(find(run, "ENTRYPOINT")[0]), /\/app\/dci-server/);
});

Deno.test(".dockerignore keeps secrets, local state and the git history out of the build context", () => {
  const lines = Deno.readTextFileSync(new URL(".dockerignore", ROOT)).split("\n").map((l) => l.trim());
  for (const entry of [".git", ".env", "data/", "dist/", "*.pem", "*.key"]) {
    ok(lines.includes(entry), `.dockerignore lacks ${entry}`);
  }
});
