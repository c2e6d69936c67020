/**
 * The insert-only fast path of an import: registrants whose id and identifiers are new are buffered and
 * written with multi-row INSERT statements (ids assigned here, inside the batch's write transaction, so
 * identifiers, data, events and household links are known before the rows go in). Anything else (an
 * existing id, an identifier already owned, an unknown household) takes the per-record path in `store.ts`
 * after the buffer is flushed, so record order and every check stay exactly those of `saveRegistrant`.
 */
import type { StatementSync } from "node:sqlite";
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { PreparedRecord } from "./prepared.ts";
import { REGISTRANT_COLUMNS } from "./store.ts";
import { KeyHashSet } from "./key_set.ts";

type Value = string | number | null;

/** Rows per multi-row statement: chunk sizes are powers of two so at most 11 statements per table are cached. */
const MAX_CHUNK = 512;

const HEAD = {
  registrants: `INSERT INTO registrants (id, ${REGISTRANT_COLUMNS}) VALUES `,
  data: "INSERT INTO registrant_data (id, data) VALUES ",
  identifiers: "INSERT INTO identifiers (id_value, id_type, registrant_id, live, registry) VALUES ",
  contacts: "INSERT OR IGNORE INTO registrant_contacts (kind, value, registrant_id) VALUES ",
  values: "INSERT OR IGNORE INTO registrant_values (attr, value, registrant_id) VALUES ",
  events:
    "INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at) VALUES ",
} as const;
/** A table the fast path writes. */
export type Table = keyof typeof HEAD;
/**
 * The tables keyed by value (WITHOUT ROWID, their key led by a value such as a national id, a phone number or an
 * attribute's value): a chunk's rows of these wait for the batch's last flush (see `PendingInserts.deferred`).
 */
const KEYED = ["identifiers", "contacts", "values"] as const;
type Keyed = typeof KEYED[number];
/**
 * A chunk's identifier, contact and value rows in key order, each `[key, key, record index]`: `[id_value,
 * id_type, i]`, `[kind, value, i]`, `[attr, value, i]`, the index standing for the id the writer gives record `i`
 * (ids follow record order, so the order is the table's). Made where the records are read (`sortedRows`, in the
 * parse worker), so the writer only merges a batch's sorted chunks; in record order (`keyedRows`) for a load that
 * stages them (the writer sorts any it writes to their tables, see `flushInserts`).
 */
export type ChunkRows = Record<Keyed, Value[]>;
const isKeyed = (t: Table): t is Keyed => (KEYED as readonly Table[]).includes(t);

/** The fixed parts of an identifier row (live = 1) and of an event row (a registration). */
const TUPLE: Record<Table, string> = {
  registrants: `(${Array(21).fill("?").join(",")})`,
  data: "(?,?)",
  identifiers: "(?,?,?,1,?)",
  contacts: "(?,?,?)",
  values: "(?,?,?)",
  // The snapshot is '' (lazy): the record is read from registrant_data (see events.ts, EVENT_SNAPSHOT).
  events: "(?,'registration',?,?,'',?)",
};
/** Values per row of each table's buffer. */
export const WIDTH: Record<Table, number> = {
  registrants: 21,
  data: 2,
  identifiers: 4,
  contacts: 3,
  values: 3,
  events: 4,
};

/**
 * A bulk load's keyed rows go to tables of their own, in arrival order (migration 0033; merged by `mergeStaged`,
 * bulk.ts). The registry of an identifier row is a column there.
 */
const STAGED: Record<Keyed, { head: string; tuple: string }> = {
  identifiers: {
    head: "INSERT INTO load_identifiers (id_value, id_type, registrant_id, registry) VALUES ",
    tuple: "(?,?,?,?)",
  },
  contacts: { head: "INSERT INTO load_contacts (kind, value, registrant_id) VALUES ", tuple: "(?,?,?)" },
  values: { head: "INSERT INTO load_values (attr, value, registrant_id) VALUES ", tuple: "(?,?,?)" },
};

function multiInsert(db: Db, table: Table, rows: number, staged: boolean): StatementSync {
  const { head, tuple } = staged && isKeyed(table)
    ? STAGED[table]
    : { head: HEAD[table], tuple: TUPLE[table] };
  return stmt(db, head + Array(rows).fill(tuple).join(","));
}

/** Buffered rows of new registrants for one batch transaction. */
export interface PendingInserts {
  rows: Record<Table, Value[]>;
  count: number;
  nextId: number | undefined;
  /**
   * Identifier, contact and value rows of the chunks already written (`flushChunk`): they go in with the batch's
   * next `flushInserts` (its last, or one before a per-record write), all in key order. Keys of random value (a
   * national id, a phone number) land all over their trees: a chunk's rows in key order still touch one leaf
   * each, while a whole batch's (hundreds of thousands) go to each leaf a few at a time, in one ordered pass
   * (at 1M persons, batches of 500,000: identifier and contact rows 32 s of the writer's time → 11 s, and 5 s
   * sorting them). Replaced, never changed in place, by a flush: a caller may keep it to restore after a ROLLBACK TO.
   */
  deferred: Record<Keyed, Value[][]>;
  /** The chunk being buffered (`startChunk`). */
  chunk?: ChunkBuffer;
  /**
   * A bulk load's while it stages: every identifier the load met (batch.ts, `stagedTaken`), and its identifier,
   * contact and value rows go to the stage tables, unsorted (see `STAGED`). Unset once the load merged them early
   * (batch.ts, `stopStaging`).
   */
  loadKeys?: KeyHashSet;
}

/**
 * The keyed rows of the chunk being buffered (PreparedBatch.rows, sorted by the parse worker), the id and
 * registry each record of the chunk was buffered with (id 0: not buffered), and how many records' rows were
 * taken (`takeChunkRows`).
 */
interface ChunkBuffer {
  rows: ChunkRows;
  ids: number[];
  registries: string[];
  done: number;
  /** Row offsets per record and table, built only when rows are taken before the chunk's end. */
  byRecord?: Record<Keyed, number[][]>;
}

/** An empty buffer. */
export function pendingInserts(staged = false): PendingInserts {
  return {
    rows: { registrants: [], data: [], identifiers: [], contacts: [], values: [], events: [] },
    count: 0,
    nextId: undefined,
    deferred: noneDeferred(),
    loadKeys: staged ? new KeyHashSet() : undefined,
  };
}

function noneDeferred(): PendingInserts["deferred"] {
  return { identifiers: [], contacts: [], values: [] };
}

/** The keyed rows of `records` (their ids, contacts and values) in key order (see `ChunkRows`). */
export function sortedRows(records: readonly PreparedRecord[]): ChunkRows {
  const rows = keyedRows(records);
  return { identifiers: byKey(rows.identifiers), contacts: byKey(rows.contacts), values: byKey(rows.values) };
}

/**
 * The keyed rows of `records` in record order: what a load that stages them needs (they are sorted when merged),
 * a bulk load's reader then does not sort them.
 */
export function keyedRows(records: readonly PreparedRecord[]): ChunkRows {
  const rows: ChunkRows = { identifiers: [], contacts: [], values: [] };
  records.forEach((rec, i) => {
    const ids = rec.ids ?? [];
    for (let k = 0; k < ids.length; k += 2) rows.identifiers.push(ids[k + 1], ids[k], i);
    const contacts = rec.contacts ?? [];
    for (let k = 0; k < contacts.length; k += 2) rows.contacts.push(contacts[k], contacts[k + 1], i);
    const values = rec.values ?? [];
    for (let k = 0; k < values.length; k += 2) rows.values.push(values[k], values[k + 1], i);
  });
  return rows;
}

/** `rows` without those of the first `n` records, the others' indexes shifted down by `n` (still in key order). */
export function withoutFirstRows(rows: ChunkRows, n: number): ChunkRows {
  const out: ChunkRows = { identifiers: [], contacts: [], values: [] };
  for (const table of KEYED) {
    const from = rows[table];
    for (let k = 0; k < from.length; k += 3) {
      const i = from[k + 2] as number;
      if (i >= n) out[table].push(from[k], from[k + 1], i - n);
    }
  }
  return out;
}

/** Starts buffering a chunk of `size` records whose keyed rows are `rows` (see `sortedRows`). */
export function startChunk(p: PendingInserts, rows: ChunkRows, size: number): void {
  p.chunk = { rows, ids: new Array<number>(size).fill(0), registries: new Array<string>(size), done: 0 };
}

/**
 * Moves the keyed rows of the chunk's records before `upTo` that were buffered into the buffers of their
 * tables: at the chunk's end, in one walk per table, as sorted runs; before a per-record write mid-chunk,
 * record by record. An identifier row gets its record's registry as its last value.
 */
export function takeChunkRows(p: PendingInserts, upTo: number): void {
  const c = p.chunk;
  if (!c || upTo <= c.done) return;
  const whole = c.done === 0 && upTo === c.ids.length;
  if (!whole && !c.byRecord) {
    const byRecord = {} as Record<Keyed, number[][]>;
    for (const table of KEYED) {
      const rows = c.rows[table];
      const offsets: number[][] = c.ids.map(() => []);
      for (let k = 0; k < rows.length; k += 3) offsets[rows[k + 2] as number].push(k);
      byRecord[table] = offsets;
    }
    c.byRecord = byRecord;
  }
  for (const table of KEYED) {
    const rows = c.rows[table];
    const out = p.rows[table];
    const registries = table === "identifiers" ? c.registries : undefined;
    const take = (k: number, i: number) => {
      const id = c.ids[i];
      if (!id) return;
      out.push(rows[k], rows[k + 1], id);
      if (registries) out.push(registries[i]);
    };
    if (whole) { for (let k = 0; k < rows.length; k += 3) take(k, rows[k + 2] as number); }
    else {
      const offsets = c.byRecord![table];
      for (let i = c.done; i < upTo; i++) for (const k of offsets[i]) take(k, i);
    }
  }
  c.done = upTo;
}

/** The id of the next new registrant of the SQLite buffer `p` (the one writer holds the database). */
export function nextRegistrantId(db: Db, p: PendingInserts): number {
  if (p.nextId === undefined) {
    p.nextId = Number(
      (stmt(db, "SELECT COALESCE(MAX(id), 0) + 1 AS n FROM registrants").get() as { n: number }).n,
    );
  }
  return p.nextId++;
}

/**
 * Buffers new registrant `rec` with row id `id`, record `index` of the chunk (group_id already set). Its
 * identifier, contact and value rows are taken from the chunk's (`takeChunkRows`). Inside the batch's transaction.
 */
export function bufferNew(
  p: PendingInserts,
  rec: PreparedRecord,
  options: { now: string; index: number; id: number },
): void {
  const id = options.id;
  const r = p.rows.registrants;
  r.push(id);
  for (const v of rec.cols!) r.push(v);
  // The registry is the last of columnValues (store.ts).
  const registry = rec.cols![rec.cols!.length - 1] as string;
  p.rows.data.push(id, rec.json!);
  p.chunk!.ids[options.index] = id;
  p.chunk!.registries[options.index] = registry;
  p.rows.events.push(registry, rec.recordType!, id, options.now);
  p.count++;
}

/**
 * Writes the buffered rows (registrants first: the other tables refer to them), the deferred identifier,
 * contact and value rows with them (each table's in key order, or, staging, to its stage table as they come),
 * and empties the buffer.
 */
export function flushInserts(db: Db, p: PendingInserts): void {
  if (p.count > 0 || KEYED.some((t) => p.deferred[t].length > 0)) {
    const staged = p.loadKeys !== undefined;
    for (const table of ["registrants", "data", "identifiers", "contacts", "values", "events"] as const) {
      let rows = p.rows[table];
      if (isKeyed(table)) {
        rows = ([] as Value[]).concat(...p.deferred[table], rows);
        if (!staged) rows = byKey(rows, WIDTH[table]);
      }
      writeRows(db, table, rows, staged);
      p.rows[table] = [];
    }
    p.deferred = noneDeferred();
    p.count = 0;
  }
  // Per-record writes may follow and take ids themselves: read the next id again when needed.
  p.nextId = undefined;
}

/**
 * Writes the buffered rows of one chunk of a batch but its identifier, contact and value rows, which are deferred
 * to the batch's next `flushInserts` (see `deferred`).
 */
export function flushChunk(db: Db, p: PendingInserts): void {
  if (p.count > 0) {
    for (const table of ["registrants", "data", "events"] as const) {
      writeRows(db, table, p.rows[table], false);
      p.rows[table] = [];
    }
    const deferred = { ...p.deferred };
    for (const table of KEYED) {
      if (p.rows[table].length > 0) deferred[table] = [...deferred[table], p.rows[table]];
      p.rows[table] = [];
    }
    p.deferred = deferred;
    p.count = 0;
  }
  p.nextId = undefined;
}

/** Forgets the rows buffered since the last flush (their chunk was rolled back); `deferred` as kept before it. */
export function discardPending(p: PendingInserts, deferred: PendingInserts["deferred"]): void {
  for (const table of Object.keys(p.rows) as Table[]) p.rows[table] = [];
  p.deferred = deferred;
  p.chunk = undefined;
  p.count = 0;
  p.nextId = undefined;
}

function writeRows(db: Db, table: Table, values: Value[], staged: boolean): void {
  const width = WIDTH[table];
  let at = 0;
  let left = values.length / width;
  while (left > 0) {
    let rows = MAX_CHUNK;
    while (rows > left) rows >>= 1;
    multiInsert(db, table, rows, staged).run(...values.slice(at, at + rows * width));
    at += rows * width;
    left -= rows;
  }
}

/**
 * Rows of `width` values in key order: their first three values, `(attr, value, registrant_id)`, `(id_value,
 * id_type, registrant_id)` or `(kind, value, registrant_id)`, the key of their table (contacts' value is
 * NOCASE: the few upper-case letters only cost locality, not correctness). A batch's values land all over the
 * table's key (a crvs record has about eleven, e.g. a date or a parent's identifier): in key order consecutive
 * rows go to the same or the next leaf, which cost a third less writer CPU than record order at 200k crvs
 * records. A batch's keyed rows are its chunks' sorted runs (`sortedRows`, in the parse worker), which the sort
 * (TimSort) only merges.
 */
function byKey(rows: Value[], width = 3): Value[] {
  const n = rows.length / width;
  const at = new Array<number>(n);
  for (let i = 0; i < n; i++) at[i] = i * width;
  at.sort((x, y) => {
    const a = rows[x] as string, b = rows[y] as string;
    if (a !== b) return a < b ? -1 : 1;
    const p = rows[x + 1], q = rows[y + 1];
    if (p !== q) {
      // Numbers before text, as SQLite orders them; the rest by value.
      if (typeof p !== typeof q) return typeof p === "number" ? -1 : 1;
      return (p as string | number) < (q as string | number) ? -1 : 1;
    }
    return (rows[x + 2] as number) - (rows[y + 2] as number);
  });
  const out = new Array<Value>(rows.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) out[width * i + j] = rows[at[i] + j];
  return out;
}
