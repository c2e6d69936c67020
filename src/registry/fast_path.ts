/**
 * The record loop of a chunk's fast path, shared by both backends' writers (batch.ts on SQLite,
 * pg_load_store.ts on PostgreSQL): which records are new (their id, identifiers and household known to be free or
 * found), their rows buffered (fast_insert.ts), the others handed back for the checked path.
 */
import { type ImportReport, reject } from "./batch.ts";
import { isGroup, rememberGroup } from "./store.ts";
import { bufferNew, type PendingInserts, sortedRows, startChunk, takeChunkRows } from "./fast_insert.ts";
import { GROUP_ID_COLUMN, type PreparedBatch, type PreparedRecord } from "./prepared.ts";

function idKeys(ids: string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < ids.length; k += 2) out.push(`${ids[k]}\u0000${ids[k + 1]}`);
  return out;
}

/** The identifier `[type, value]` pairs of a batch's records (`ok`: those without an error). */
export function identifierPairs(ok: readonly PreparedRecord[]): string[][] {
  const pairs: string[][] = [];
  for (const p of ok) for (let k = 0; k < p.ids!.length; k += 2) pairs.push([p.ids![k], p.ids![k + 1]]);
  return pairs;
}

/**
 * Whether record `p` (without an error) can take the fast path, and its household's row id (null: none); notes
 * its id and identifiers in `seen` and `taken` (ids and identifiers of the store and of the batch so far).
 */
export function classify(
  p: PreparedRecord,
  seen: Set<string>,
  taken: Set<string>,
  groupIds: Map<string, number> | undefined,
): { fresh: true; groupId: number | null } | { fresh: false; groupId?: undefined } {
  const groupId = p.groupRef === undefined ? null : groupIds?.get(p.groupRef);
  const keys = idKeys(p.ids!);
  const fresh = !seen.has(p.externalId!) && groupId !== undefined && keys.every((k) => !taken.has(k));
  seen.add(p.externalId!);
  for (const k of keys) taken.add(k);
  return fresh ? { fresh, groupId: groupId! } : { fresh };
}

/** A record of the chunk the fast path cannot take (`record`), or a want of row ids (`nextId` had none). */
export type FastStep = { record: PreparedRecord; needIds?: undefined } | {
  record?: undefined;
  needIds: true;
};

/**
 * The record loop of a chunk's fast path, shared by both backends: counts and rejects, buffers each new record
 * with the id `nextId` gives, and yields each record the checked path must write (the caller flushes the buffer
 * first: its value rows up to that record are taken) or, when `nextId` has none, a want of ids (the caller
 * adds some and resumes).
 */
export function* fastSteps(
  batch: PreparedBatch,
  report: ImportReport,
  state: {
    seen: Set<string>;
    taken: Set<string>;
    groupIds: Map<string, number> | undefined;
    pending: PendingInserts;
  },
  nextId: () => number | undefined,
): Generator<FastStep> {
  const { pending, groupIds } = state;
  startChunk(pending, batch.rows ?? sortedRows(batch.records), batch.records.length);
  for (const [index, p] of batch.records.entries()) {
    report.read++;
    if (p.error !== undefined) {
      reject(report, p.line, p.error);
      continue;
    }
    const c = classify(p, state.seen, state.taken, groupIds);
    if (!c.fresh) {
      takeChunkRows(pending, index);
      yield { record: p };
      continue;
    }
    p.cols![GROUP_ID_COLUMN] = c.groupId;
    let id = nextId();
    while (id === undefined) {
      yield { needIds: true };
      id = nextId();
    }
    bufferNew(pending, p, { now: batch.now, index, id });
    if (isGroup(p.recordType!) && groupIds) rememberGroup(groupIds, p.externalId!, id);
    report.registered++;
  }
  takeChunkRows(pending, batch.records.length);
}
