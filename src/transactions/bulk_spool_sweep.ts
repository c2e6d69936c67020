/**
 * Removing spool files that no bulk search needs: an upload that crashed or was refused before its transaction
 * was stored, or a finished search whose file outlived it (a crash between the last page and the removal). Run by
 * the sweeper at start-up and on its interval. A file younger than DCI_BULK_SPOOL_GRACE_SECONDS is left alone: it
 * may be an upload still arriving (its file is written, or touched, as bytes come in) or one about to be accepted.
 */
import type { Deps } from "../deps.ts";
import { join } from "node:path";
import { bulkSpoolDir } from "./bulk_spool_dir.ts";

/** The names the upload route gives spool files (`<uuid>.lookups`); nothing else in the directory is touched. */
const SPOOL_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.lookups$/;

/** Removes the orphaned spool files older than the grace age; returns how many. */
export async function sweepBulkSpool(deps: Deps): Promise<number> {
  // An in-memory process shares one temporary spool directory between its databases (tests): none of them
  // could tell another's files from orphans, and the directory ends with the process's data anyway.
  if (deps.config.dataDir === ":memory:") return 0;
  // Not created here: a data dir that never took an upload has no spool directory, and gets none.
  const dir = bulkSpoolDir(deps.config, { create: false });
  const oldest = deps.clock.now() - deps.config.bulkSpoolGraceSeconds * 1000;
  let removed = 0;
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  });
  for (const entry of entries) {
    if (!entry.isFile || !SPOOL_NAME.test(entry.name)) continue;
    const path = join(dir, entry.name);
    const modified = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime();
    if (modified === undefined || modified > oldest || await deps.storage.bulk.spoolNeeded(entry.name)) {
      continue;
    }
    await Deno.remove(path).then(() => removed++, () => {});
  }
  if (removed > 0) deps.log.info("orphaned bulk spool files removed", { count: removed, dir });
  return removed;
}
