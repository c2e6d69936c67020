/** `deno task bench`: runs every benchmark script in bench/ in turn, each in its own process. */
const dir = new URL(".", import.meta.url);
const scripts: string[] = [];
for await (const e of Deno.readDir(dir)) {
  if (e.isFile && e.name.endsWith(".ts") && e.name !== "main.ts" && !e.name.startsWith("_")) {
    scripts.push(e.name);
  }
}
scripts.sort();
const only = Deno.args.filter((a) => !a.startsWith("-"));
let failed = 0;
for (const name of scripts) {
  if (only.length && !only.some((o) => name.includes(o))) continue;
  console.log(`\n=== bench/${name} ===`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "--unstable-cron", new URL(name, dir).pathname],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    failed++;
    console.log(`bench/${name} exited with ${code}`);
  }
}
Deno.exit(failed ? 1 : 0);
