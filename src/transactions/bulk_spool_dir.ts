/** Where bulk search files are spooled: `<data dir>/bulk`, or one temporary directory per in-memory process. */
import { join } from "node:path";
import type { Config } from "../config.ts";

let memoryDir: string | undefined;

/** The spool directory (created on first use, mode 0700, unless `create` is false: a reader that only looks). */
export function bulkSpoolDir(config: Pick<Config, "dataDir">, options: { create?: boolean } = {}): string {
  if (config.dataDir === ":memory:") {
    if (memoryDir === undefined) {
      const dir = memoryDir = Deno.makeTempDirSync({ prefix: "dci-bulk-" });
      // The data is gone with the process; its spooled lookups go with it (not at a crash: a system's temp
      // directory is cleared at boot).
      globalThis.addEventListener("unload", () => {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch { /* gone already (a temp cleaner): nothing to remove, and an exit must not fail on it */ }
      });
    }
    return memoryDir;
  }
  const dir = join(config.dataDir, "bulk");
  if (options.create !== false) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
