/**
 * The server's version, from one place: deno.json's `version`, imported as JSON so it is part of the module
 * graph (and so of the compiled binary). `--version`, `/healthz`, `build_info` and the database's record of
 * the binary that migrated it all read it here.
 */
import denoJson from "../deno.json" with { type: "json" };

/** This build's version (semver, e.g. "0.1.0"). */
export const VERSION: string = denoJson.version;

/** The Deno runtime this build runs on (e.g. "2.9.6"). */
export const DENO_VERSION: string = Deno.version.deno;

/**
 * Compares two semver versions by major, minor and patch, then a release above its pre-releases (the
 * build-metadata suffix is ignored); returns <0, 0 or >0. A part that is not a number counts as 0.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core, pre] = v.split("+")[0].split(/-(.*)/s);
    return { core: core.split(".").map((x) => Number(x) || 0), pre: pre ?? "" };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.core[i] ?? 0) - (y.core[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return x.pre < y.pre ? -1 : 1;
}
