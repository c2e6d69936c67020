/** Prints `.env.example` (default) or the README settings table (`--table`) from src/config.ts SETTINGS. */
import { SETTINGS } from "../src/config.ts";

if (Deno.args.includes("--table")) {
  console.log("| Variable | Flag | Default | Meaning |\n|---|---|---|---|");
  for (const s of SETTINGS) {
    console.log(`| \`${s.env}\` | ${s.flag ? `\`--${s.flag}\`` : ""} | \`${s.default}\` | ${s.doc} |`);
  }
} else {
  console.log("# dci-server settings: every variable with its default. Copy to .env or export them.");
  for (const s of SETTINGS) {
    console.log(`\n# ${s.doc}${s.flag ? ` (flag --${s.flag})` : ""}\n${s.env}=${s.default}`);
  }
}
