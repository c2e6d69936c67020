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
