/**
 * The console's static assets, embedded in the module graph (so the compiled binary serves them offline) and
 * served under names carrying a hash of their content, so they can be cached for a year: a new build that
 * changes one changes its name.
 */
import { createHash } from "node:crypto";
import htmx from "htmx.org/dist/htmx.min.js" with { type: "text" };
import css from "./assets/console.css" with { type: "text" };
import script from "./assets/console.js" with { type: "text" };

/** One embedded asset. */
export interface Asset {
  /** The hashed file name, e.g. `console.3f2a9c0b1d.css`. */
  name: string;
  type: string;
  body: string;
}

function asset(base: string, ext: string, type: string, body: string): Asset {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { name: `${base}.${hash}.${ext}`, type, body };
}

/** The assets every page links: htmx (from npm), the stylesheet and the console's own script. */
export const ASSETS = {
  htmx: asset("htmx", "min.js", "text/javascript; charset=utf-8", htmx),
  css: asset("console", "css", "text/css; charset=utf-8", css),
  script: asset("console", "js", "text/javascript; charset=utf-8", script),
} as const;

const BY_NAME = new Map<string, Asset>(Object.values(ASSETS).map((a) => [a.name, a]));

/** The asset with this hashed name, if any. */
export function assetNamed(name: string): Asset | undefined {
  return BY_NAME.get(name);
}
