import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { planBuilds, TARGETS, writeChecksums } from "../../scripts/compile_all.ts";
import denoJson from "../../deno.json" with { type: "json" };

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("planBuilds() builds every release target with exactly the flags of deno.json's compile task", () => {
  const task = denoJson.tasks.compile.split(/\s+/);
  const out = task.indexOf("--output");
  const flags = task.slice(2, out).concat(task.slice(out + 2, -1));
  const builds = planBuilds(denoJson.tasks.compile);
  deepEqual(builds.map((b) => b.target.triple), [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  for (const b of builds) {
    deepEqual(b.args, [
      "compile",
      ...flags,
      "--target",
      b.target.triple,
      "--output",
      `${task[out + 1]}-${b.target.name}${b.target.exe}`,
      task[task.length - 1],
    ]);
  }
  equal(builds.find((b) => b.target.name === "windows-x64")?.output, `${task[out + 1]}-windows-x64.exe`);
});

Deno.test("the compile task includes every module src/ starts as a Worker (deno compile does not follow them)", async () => {
  const included = new Set<string>();
  const task = denoJson.tasks.compile.split(/\s+/);
  task.forEach((w, i) => {
    if (w === "--include") included.add(task[i + 1]);
  });
  const workers: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(ROOT + dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) {
        const text = await Deno.readTextFile(ROOT + path);
        for (const m of text.matchAll(/new Worker\(\s*new URL\("(\.{1,2}\/[^"]+)", import\.meta\.url\)/g)) {
          workers.push(new URL(m[1], `file:///${path}`).pathname.slice(1));
        }
      }
    }
  };
  await walk("src");
  ok(workers.length >= 5, workers.join());
  for (const w of workers) ok(included.has(w), `deno.json's compile task lacks --include ${w}`);
});

Deno.test("planBuilds() refuses a compile task that pins a target, has no --output or quotes words", () => {
  throws(
    () => planBuilds("deno compile --target x86_64-apple-darwin --output dist/x main.ts"),
    /must not pin/,
  );
  throws(() => planBuilds("deno compile -A main.ts"), /no --output/);
  throws(() => planBuilds("deno compile --v8-flags='--a --b' --output dist/x main.ts"), /plain words/);
  throws(() => planBuilds("deno run main.ts"), /not a deno compile task/);
});

Deno.test("deno task compile:all --dry-run prints the exact deno commands, one per target", async () => {
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile:all", "--dry-run"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(res.code, 0, new TextDecoder().decode(res.stderr));
  const lines = new TextDecoder().decode(res.stdout).trim().split("\n");
  deepEqual(lines, planBuilds(denoJson.tasks.compile).map((b) => ["deno", ...b.args].join(" ")));
  equal(lines.length, TARGETS.length);
});

Deno.test("writeChecksums() writes a SHA256SUMS that sha256sum -c accepts, and that catches a changed file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-sums-" });
  try {
    const files = [`${dir}/dci-server-linux-x64`, `${dir}/dci-server-windows-x64.exe`, `${dir}/empty`];
    await Deno.writeFile(files[0], new Uint8Array(300_000).map((_, i) => (i * 7919) % 251));
    await Deno.writeTextFile(files[1], "MZ windows binary stand-in\n");
    await Deno.writeFile(files[2], new Uint8Array(0));
    const sums = await writeChecksums(dir, files);
    const text = await Deno.readTextFile(sums);
    match(text, /^e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 {2}empty$/m);
    const check = () =>
      new Deno.Command("sha256sum", {
        args: ["-c", "SHA256SUMS"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
    const good = await check();
    equal(good.code, 0, new TextDecoder().decode(good.stdout));
    await Deno.writeTextFile(files[1], "tampered\n");
    const bad = await check();
    equal(bad.code, 1);
    match(new TextDecoder().decode(bad.stdout), /dci-server-windows-x64\.exe: FAILED/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
