/**
 * Loading records on PostgreSQL (RegistryLoadStore, load_store.ts): the outcome of batch.ts on SQLite — one
 * transaction per batch, new records through the multi-row fast path (pg_fast_insert.ts), the rest through
 * `pgSaveRegistrant` (saveRegistrant's rules), a chunk that meets a constraint redone record by record under
 * savepoints — with the registry event writers' lock (pg_event_lock.ts) held from the batch's first write to its
 * commit, so events commit in id order whatever other instances write.
 */
import { isReadOnlyServer } from "../db/faults.ts";
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, type PgCheckedOut, pgCheckout } from "../db/pg/query.ts";
import { addReport, emptyReport, type ImportReport, reject } from "./batch.ts";
import { classify, fastSteps, identifierPairs } from "./fast_path.ts";
import { InputError } from "./model.ts";
import { isGroup, STORE_REGISTRY } from "./store.ts";
import { pendingInserts } from "./fast_insert.ts";
import { type PreparedBatch, type PreparedRecord, registrantOf } from "./prepared.ts";
import { pgFlushInserts, reserveIds } from "./pg_fast_insert.ts";
import { lockEvents } from "./pg_event_lock.ts";
import { pgSaveRegistrant } from "./pg_registry_write.ts";
import { allBatches, type LoadOptions, type RegistryLoadStore } from "./load_store.ts";
import { pgBulkLoad, pgRecordProgress, pgRestoreIndexes } from "./pg_bulk.ts";
import {
  pgBuildIndexesConcurrently,
  pgEnsureRegistryIndexes,
  pgMissingIndexes,
} from "../registries/pg_indexes.ts";

type WriteOptions = { registry: string; groupIds: Map<string, number> };

/**
 * True for an error PostgreSQL raised over a record's data: a constraint (class 23: unique, foreign key, check,
 * not null), a data exception (class 22: a value the column cannot hold) or an exception a trigger of the
 * operator's own raised (P0001, `RAISE EXCEPTION`). Such a chunk is redone record by record and the record
 * refused, as SQLite refuses a record its constraints or a trigger's `RAISE(ABORT)` refuse; anything else (the
 * connection lost, a timeout, a serialization failure) fails the batch, to be retried whole.
 */
function refusesRecord(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && (code.startsWith("23") || code.startsWith("22") || code === "P0001");
}

/** Writes one record through the checked path and counts it (batch.ts `upsertOne`). */
async function upsertOne(
  client: PgClient,
  p: PreparedRecord,
  now: string,
  report: ImportReport,
  options: WriteOptions,
): Promise<void> {
  const { eventType } = await pgSaveRegistrant(client, registrantOf(p), {
    mode: "upsert",
    now,
    groupIds: options.groupIds,
  });
  if (eventType === "update") report.updated++;
  else report.registered++;
}

/** Record by record, each under its own savepoint (a chunk that met a constraint on the fast path). */
async function writeCarefully(
  client: PgClient,
  batch: PreparedBatch,
  report: ImportReport,
  options: WriteOptions,
): Promise<void> {
  for (const p of batch.records) {
    report.read++;
    if (p.error !== undefined) {
      reject(report, p.line, p.error);
      continue;
    }
    await client.query("SAVEPOINT rec");
    try {
      await upsertOne(client, p, batch.now, report, options);
      await client.query("RELEASE rec");
    } catch (err) {
      await client.query("ROLLBACK TO rec");
      await client.query("RELEASE rec");
      if (err instanceof InputError || refusesRecord(err)) reject(report, p.line, (err as Error).message);
      else throw err;
    }
  }
}

/** How many records of the chunk the fast path will take (ids to reserve): `classify` on copies of the sets. */
function freshCount(
  ok: PreparedRecord[],
  seen: Set<string>,
  taken: Set<string>,
  groupIds: Map<string, number>,
) {
  const s = new Set(seen), t = new Set(taken), g = new Map(groupIds);
  let n = 0;
  for (const p of ok) {
    if (!classify(p, s, t, g).fresh) continue;
    n++;
    if (isGroup(p.recordType!)) g.set(p.externalId!, 0);
  }
  return n;
}

/** batch.ts `writeFast` on PostgreSQL. */
async function writeFast(
  client: PgClient,
  batch: PreparedBatch,
  report: ImportReport,
  options: WriteOptions,
): Promise<void> {
  const ok = batch.records.filter((p) => p.error === undefined);
  const { registry, groupIds } = options;
  await pgEnsureRegistryIndexes(client, registry);
  const seen = new Set(
    (await pgAll<{ e: string }>(
      client,
      "SELECT external_id AS e FROM registrants WHERE registry = $2 AND external_id = ANY($1::text[])",
      [ok.map((p) => p.externalId!), registry],
    )).map((r) => r.e),
  );
  // By value only (the primary key's first column: an index scan whatever the planner's statistics say of a
  // table the load is filling; a join with unnest() became a scan per chunk). A pair no record has is unused.
  const pairs = identifierPairs(ok);
  const taken = new Set(
    (await pgAll<{ t: string; v: string }>(
      client,
      `SELECT id_type AS t, id_value AS v FROM identifiers
        WHERE id_value = ANY($1::text[]) AND registry = $2 AND live = 1`,
      [[...new Set(pairs.map((x) => x[1]))], registry],
    )).map((r) => `${r.t}\u0000${r.v}`),
  );
  const ids = await reserveIds(client, freshCount(ok, seen, taken, groupIds));
  const pending = pendingInserts();
  const steps = fastSteps(batch, report, { seen, taken, groupIds, pending }, () => ids.shift());
  for (const step of steps) {
    if (step.needIds) {
      // A household saved by the checked path earlier in the chunk made members fresh the count missed.
      ids.push(...await reserveIds(client, 1));
      continue;
    }
    // The records buffered so far go in first (this one may update one of them), with their values.
    await pgFlushInserts(client, pending);
    try {
      await upsertOne(client, step.record, batch.now, report, options);
    } catch (err) {
      // A constraint failure here means a check missed something: the caller redoes the chunk carefully.
      if (err instanceof InputError) reject(report, step.record.line, err.message);
      else throw err;
    }
  }
  await pgFlushInserts(client, pending);
}

/** One chunk inside the batch's transaction (batch.ts `writeChunk`): fast, or redone carefully. */
async function writeChunk(
  client: PgClient,
  chunk: PreparedBatch,
  options: WriteOptions,
): Promise<ImportReport> {
  const local = emptyReport();
  await client.query("SAVEPOINT chunk");
  try {
    await writeFast(client, chunk, local, options);
  } catch (err) {
    if (!refusesRecord(err)) throw err;
    await client.query("ROLLBACK TO chunk");
    options.groupIds.clear();
    Object.assign(local, emptyReport());
    await writeCarefully(client, chunk, local, options);
  }
  await client.query("RELEASE chunk");
  return local;
}

/**
 * The planner's statistics of the tables a load looks records up in are refreshed after this many new records,
 * then each time the load has doubled them, and once more at the end of a load that registered any: a table
 * filled faster than autovacuum analyses it still looks empty to the planner, which then scans it whole for every
 * chunk's identifiers (a load of 100k persons went quadratic), and a search right after the load nests loops over
 * tables it believes hold one row (a two-attribute search of 200 fresh DR records: 255 ms, 0.16 ms analysed).
 */
const ANALYZE_FIRST = 5000;

/** The registry's tables whose statistics searches and loads plan with. */
const ANALYZE = "ANALYZE registrants, identifiers, registrant_values, registrant_contacts";

/** batch.ts `writePrepared` on PostgreSQL: one transaction per batch, on one connection of `pool`. */
export async function pgWritePrepared(
  pool: PgPool,
  batches: AsyncIterable<PreparedBatch>,
  options: LoadOptions,
): Promise<ImportReport> {
  const report = emptyReport();
  let batchReport = emptyReport();
  const write = { registry: options.registry ?? STORE_REGISTRY, groupIds: new Map<string, number>() };
  let open: PgCheckedOut | undefined;
  let readOnly: Error | undefined;
  let analyzeAt = ANALYZE_FIRST;
  let analyzed = 0;
  // Only a plan's quality depends on it: a failure here (the next batch would meet a broken connection itself)
  // does not fail the load.
  const analyze = async () => {
    analyzed = report.registered;
    await pool.query(ANALYZE).catch(() => undefined);
  };
  const commit = async (checkedOut: PgCheckedOut) => {
    const client = checkedOut.client;
    if (options.importJob !== undefined) await pgRecordProgress(client, options.importJob, batchReport);
    await client.query("COMMIT");
    open = undefined;
    checkedOut.release();
    batchReport = emptyReport();
    if (report.registered >= analyzeAt) {
      analyzeAt = report.registered * 2;
      await analyze();
    }
  };
  try {
    for await (const chunk of batches) {
      if (chunk.records.length > 0) {
        if (!open) {
          // Idle in its transaction while the next batch is parsed: pgCheckout keeps a failure then from the process.
          open = await pgCheckout(pool);
          await open.client.query("BEGIN");
          await lockEvents(open.client);
        }
        const part = await writeChunk(open.client, chunk, write);
        addReport(batchReport, part);
        addReport(report, part);
        options.onProgress?.(report);
      }
      if (open && chunk.last !== false) await commit(open);
    }
    if (open) await commit(open);
    if (report.registered > analyzed) await analyze();
  } catch (err) {
    // A server that takes reads only (a failover's old primary): its connection is not pooled again.
    if (open && isReadOnlyServer(err)) readOnly = err as Error;
    throw err;
  } finally {
    if (open) {
      const checkedOut: PgCheckedOut = open;
      let broken: Error | undefined = readOnly;
      await checkedOut.client.query("ROLLBACK").catch((err) => broken = err);
      checkedOut.release(broken);
    }
  }
  return report;
}

/** Loading into the PostgreSQL database behind `pool`. */
export function pgLoadStore(pool: PgPool): RegistryLoadStore {
  const write = (batches: AsyncIterable<PreparedBatch>, options: LoadOptions) =>
    pgWritePrepared(pool, batches, options);
  return {
    write,
    writeAll: (source, options) =>
      write(allBatches(source, options), { registry: options.profile?.name, onProgress: options.onProgress }),
    bulkLoad: (batches, options) => pgBulkLoad(pool, () => write(batches, options), options),
    restoreIndexes: () => pgRestoreIndexes(pool),
    missingIndexes: async (registry) => {
      const { missing, invalid } = await pgMissingIndexes(pool, registry);
      return missing.length + invalid.length;
    },
    buildIndexes: (registry) => pgBuildIndexesConcurrently(pool, registry),
    // PostgreSQL writes a load's keyed rows as they come, in the reader's key order.
    stagesKeyedRows: () => Promise.resolve(false),
  };
}
