/**
 * A record prepared for writing: read, checked and serialised once (in the import's parse worker or in
 * process), so the writer only decides new-or-existing and binds values. The Registrant itself is rebuilt
 * from `json` only for the per-record path (existing ids, conflicts), which is rare in a bulk load.
 */
import type { SourceRecord } from "./batch.ts";
import { InputError, readRegistrant, type Registrant } from "./model.ts";
import { columnValues } from "./store.ts";
import { contactPairs } from "./contacts.ts";
import { valuePairs } from "./values.ts";
import { type ChunkRows, keyedRows, sortedRows, withoutFirstRows } from "./fast_insert.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/** A prepared input record: either `error` or the registrant's parts. */
export interface PreparedRecord {
  line: number;
  error?: string;
  externalId?: string;
  /** Storage record type. */
  recordType?: string;
  groupRef?: string;
  /** Identifier type and value pairs, flattened: [type, value, type, value, ...]. */
  ids?: string[];
  /** Contact kind and normalised value pairs, flattened (contacts.ts). */
  contacts?: string[];
  /** Registry-specific searchable values, flattened: [attr, value, ...] (values.ts). */
  values?: Array<string | number>;
  /** The stored registrant JSON. */
  json?: string;
  /** `columnValues(reg, null)`: the household row id (index 12) is filled in by the writer. */
  cols?: Array<string | number | null>;
}

/** The column index of `group_id` in `columnValues`. */
export const GROUP_ID_COLUMN = 12;

/**
 * Reads one source record of `profile`'s registry (social when not given) with `now` as the import time; an
 * input error becomes `error`.
 */
export function prepareRecord(rec: SourceRecord, now: string, profile?: RegistryProfile): PreparedRecord {
  if (rec.error !== undefined) return { line: rec.line, error: rec.error };
  let reg: Registrant;
  try {
    reg = readRegistrant(rec.raw, now, undefined, profile);
  } catch (err) {
    if (err instanceof InputError) return { line: rec.line, error: err.message };
    throw err;
  }
  const ids: string[] = [];
  for (const i of reg.identifiers) ids.push(i.type, i.value);
  return {
    line: rec.line,
    externalId: reg.externalId,
    recordType: reg.recordType,
    groupRef: reg.groupRef,
    ids,
    contacts: contactPairs(reg),
    values: valuePairs(reg),
    json: JSON.stringify(reg),
    cols: columnValues(reg, null),
  };
}

/** The registrant of a prepared record (for the per-record path). */
export function registrantOf(p: PreparedRecord): Registrant {
  return JSON.parse(p.json!) as Registrant;
}

/**
 * A chunk of prepared records and the import time its batch was read with. A batch (one transaction, `--batch`
 * records) arrives as chunks of at most CHUNK_RECORDS, so neither the parse worker nor the writer holds a whole
 * batch: `last` false means more chunks of the same transaction follow; absent or true, it commits after this one.
 */
export interface PreparedBatch {
  now: string;
  records: PreparedRecord[];
  last?: boolean;
  /**
   * The records' identifier, contact and value rows in key order (`sortedRows`) or, for a load that stages them,
   * in record order (`keyedRows`), made by the reader; else the writer makes them.
   */
  rows?: ChunkRows;
}

/** Records per chunk between the reader and the writer: bounds the import's memory whatever `--batch` is. */
export const CHUNK_RECORDS = 5000;

/** Records per batch (one write transaction) when none is given (`--batch`, `batchSize`). */
export const BATCH_RECORDS = 5000;

/**
 * A chunk of prepared records with their keyed rows, sorted unless `sorted` is false (a load that stages them, see
 * `keyedRows`), each record's own contacts and values dropped (sent once; its identifiers stay: the writer checks
 * them).
 */
export function chunkOf(now: string, records: PreparedRecord[], last: boolean, sorted = true): PreparedBatch {
  const rows = sorted ? sortedRows(records) : keyedRows(records);
  for (const r of records) r.values = r.contacts = undefined;
  return { now, records, last, rows };
}

/**
 * The chunk without its first `n` records, its sorted rows with them (the records' own contacts and values were
 * dropped by `chunkOf`: the rows are all that is left of them).
 */
export function withoutFirst(batch: PreparedBatch, n: number): PreparedBatch {
  return { ...batch, records: batch.records.slice(n), rows: batch.rows && withoutFirstRows(batch.rows, n) };
}
