/**
 * Prints `.env.example` (default) or the README settings table (`--table`) from src/config.ts SETTINGS;
 * `--readme` rewrites the table inside README.md in place (run `deno fmt README.md` after).
 */
import { SETTINGS } from "../src/config.ts";

function table(): string {
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const rows = SETTINGS.map((s) =>
    `| \`${s.env}\` | ${s.flag ? `\`--${s.flag}\`` : ""} | \`${cell(s.default)}\` | ${cell(s.doc)} |`
  );
  return ["| Variable | Flag | Default | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}

if (Deno.args.includes("--table")) {
  console.log(table());
} else if (Deno.args.includes("--readme")) {
  const path = new URL("../README.md", import.meta.url);
  const lines = Deno.readTextFileSync(path).split("\n");
  const start = lines.findIndex((l) => /^\| Variable\s+\| Flag/.test(l));
  if (start < 0) throw new Error("README.md has no settings table");
  let end = start;
  while (end < lines.length && lines[end].startsWith("|")) end++;
  lines.splice(start, end - start, table());
  Deno.writeTextFileSync(path, lines.join("\n"));
} else {
  console.log("# dci-server settings: every variable with its default. Copy to .env or export them.");
  for (const s of SETTINGS) {
    console.log(`\n# ${s.doc}${s.flag ? ` (flag --${s.flag})` : ""}\n${s.env}=${s.default}`);
  }
}
