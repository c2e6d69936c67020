/**
 * Removing spools that no bulk search needs: an upload that crashed or was refused before its transaction was
 * stored, or a finished search whose spool outlived it (a crash between the last page and the removal, or a
 * transaction deleted by retention before its last page). Run by the sweeper at start-up and on its interval. A
 * spool written less than DCI_BULK_SPOOL_GRACE_SECONDS ago is left alone: it may be an upload still arriving (its
 * spool is written, or touched, as bytes come in) or one about to be accepted.
 */
import type { Deps } from "../deps.ts";

/** Removes the orphaned spools older than the grace age; returns how many. */
export async function sweepBulkSpool(deps: Deps): Promise<number> {
  const removed = await deps.storage.spools.sweep(
    deps.clock.now() - deps.config.bulkSpoolGraceSeconds * 1000,
  );
  if (removed > 0) deps.log.info("orphaned bulk spool files removed", { count: removed });
  return removed;
}
