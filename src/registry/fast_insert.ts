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
type Table = keyof typeof HEAD;

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
const WIDTH: Record<Table, number> = {
  registrants: 21,
  data: 2,
  identifiers: 4,
  contacts: 3,
  values: 3,
  events: 4,
};

function multiInsert(db: Db, table: Table, rows: number): StatementSync {
  return stmt(db, HEAD[table] + Array(rows).fill(TUPLE[table]).join(","));
}

/** Buffered rows of new registrants for one batch transaction. */
export interface PendingInserts {
  rows: Record<Table, Value[]>;
  count: number;
  nextId: number | undefined;
  /**
   * Value rows of the chunks already written (`flushChunk`): they go in with the batch's last flush, all in key
   * order, so a batch sent in small chunks keeps the locality of one sort over the whole batch. Replaced, never
   * changed in place, by a flush: a caller may keep the list to restore it after a ROLLBACK TO.
   */
  deferredValues: Value[][];
}

/** An empty buffer. */
export function pendingInserts(): PendingInserts {
  return {
    rows: { registrants: [], data: [], identifiers: [], contacts: [], values: [], events: [] },
    count: 0,
    nextId: undefined,
    deferredValues: [],
  };
}

/** Buffers a new registrant (id chosen here, group_id already set); returns its id. Inside the batch's transaction. */
export function bufferNew(
  db: Db,
  p: PendingInserts,
  rec: PreparedRecord,
  options: { now: string },
): number {
  if (p.nextId === undefined) {
    p.nextId = Number(
      (stmt(db, "SELECT COALESCE(MAX(id), 0) + 1 AS n FROM registrants").get() as { n: number }).n,
    );
  }
  const id = p.nextId++;
  const r = p.rows.registrants;
  r.push(id);
  for (const v of rec.cols!) r.push(v);
  // The registry is the last of columnValues (store.ts).
  const registry = rec.cols![rec.cols!.length - 1] as string;
  p.rows.data.push(id, rec.json!);
  const ids = rec.ids!;
  for (let k = 0; k < ids.length; k += 2) p.rows.identifiers.push(ids[k + 1], ids[k], id, registry);
  const contacts = rec.contacts ?? [];
  for (let k = 0; k < contacts.length; k += 2) p.rows.contacts.push(contacts[k], contacts[k + 1], id);
  const values = rec.values ?? [];
  for (let k = 0; k < values.length; k += 2) p.rows.values.push(values[k], values[k + 1], id);
  p.rows.events.push(registry, rec.recordType!, id, options.now);
  p.count++;
  return id;
}

/**
 * Writes the buffered rows (registrants first: the other tables refer to them), the deferred value rows with
 * them, and empties the buffer.
 */
export function flushInserts(db: Db, p: PendingInserts): void {
  if (p.count > 0 || p.deferredValues.length > 0) {
    for (const table of ["registrants", "data", "identifiers", "contacts", "values", "events"] as const) {
      const rows = table !== "values"
        ? p.rows[table]
        : byKey(([] as Value[]).concat(...p.deferredValues, p.rows.values));
      writeRows(db, table, rows);
      p.rows[table] = [];
    }
    p.deferredValues = [];
    p.count = 0;
  }
  // Per-record writes may follow and take ids themselves: read the next id again when needed.
  p.nextId = undefined;
}

/**
 * Writes the buffered rows of one chunk of a batch but its value rows, which are deferred to the batch's last
 * `flushInserts` (see `deferredValues`).
 */
export function flushChunk(db: Db, p: PendingInserts): void {
  if (p.count > 0) {
    for (const table of ["registrants", "data", "identifiers", "contacts", "events"] as const) {
      writeRows(db, table, p.rows[table]);
      p.rows[table] = [];
    }
    if (p.rows.values.length > 0) p.deferredValues = [...p.deferredValues, p.rows.values];
    p.rows.values = [];
    p.count = 0;
  }
  p.nextId = undefined;
}

/** Forgets the rows buffered since the last flush (their chunk was rolled back); `deferred` as kept before it. */
export function discardPending(p: PendingInserts, deferred: PendingInserts["deferredValues"]): void {
  for (const table of Object.keys(p.rows) as Table[]) p.rows[table] = [];
  p.deferredValues = deferred;
  p.count = 0;
  p.nextId = undefined;
}

function writeRows(db: Db, table: Table, values: Value[]): void {
  const width = WIDTH[table];
  let at = 0;
  let left = values.length / width;
  while (left > 0) {
    let rows = MAX_CHUNK;
    while (rows > left) rows >>= 1;
    multiInsert(db, table, rows).run(...values.slice(at, at + rows * width));
    at += rows * width;
    left -= rows;
  }
}

/**
 * The `(attr, value, registrant_id)` rows in key order. A batch's values land all over the table's key (a
 * crvs record has about eleven, e.g. a date or a parent's identifier): in key order consecutive rows go to the
 * same or the next leaf, which cost a third less writer CPU than record order at 200k crvs records.
 */
function byKey(rows: Value[]): Value[] {
  const n = rows.length / 3;
  const at = new Array<number>(n);
  for (let i = 0; i < n; i++) at[i] = i * 3;
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
  for (let i = 0; i < n; i++) {
    out[3 * i] = rows[at[i]];
    out[3 * i + 1] = rows[at[i] + 1];
    out[3 * i + 2] = rows[at[i] + 2];
  }
  return out;
}
