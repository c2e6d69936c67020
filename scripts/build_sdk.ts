/**
 * Builds the SDK for Node: `sdk/mod.ts` bundled into `sdk/dist/dci.js` with its types in `sdk/dist/dci.d.ts`
 * (deno bundle, then deno fmt so the output is stable). `deno run -A scripts/build_sdk.ts [OUT_DIR]`; the test in
 * tests/sdk/ builds into a temporary dir and compares, so the committed build cannot drift from the source.
 */
const ROOT = new URL("../", import.meta.url).pathname;

/** Bundles sdk/mod.ts into `outDir` (dci.js and dci.d.ts) and formats both. */
export async function buildSdk(outDir: string): Promise<void> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(`deno ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  };
  await Deno.mkdir(outDir, { recursive: true });
  const js = `${outDir}/dci.js`;
  await run(["bundle", "--quiet", "--declaration", "--platform", "browser", "sdk/mod.ts", "-o", js]);
  await run(["fmt", "--quiet", "--no-config", "--line-width", "110", js, `${outDir}/dci.d.ts`]);
}

if (import.meta.main) await buildSdk(Deno.args[0] ?? `${ROOT}sdk/dist`);
