/**
 * The fast path of a load on PostgreSQL: the rows buffered by fast_insert.ts (`bufferNew`) go in with one
 * `INSERT … SELECT FROM unnest(…)` per table, whatever the number of rows (each column one array parameter). Row
 * ids come from the registrants' identity sequence (`reserveIds`), never from MAX(id) + 1: instances load at
 * once, and a single-record write takes its id from the same sequence, so no id is handed out twice and no
 * `setval` is needed.
 */
import type { PgClient } from "../db/pg/pool.ts";
import { pgAll, pgRun, type PgValue } from "../db/pg/query.ts";
import { type PendingInserts, type Table, WIDTH } from "./fast_insert.ts";
import { REGISTRANT_COLUMNS } from "./store.ts";

type Value = string | number | null;

/** The column types of each buffer's rows, in row order (registrants: the id, then `REGISTRANT_COLUMNS`). */
const TYPES: Record<Table, string[]> = {
  registrants: [
    "bigint",
    ...Array(12).fill("text"),
    "bigint", // group_id
    "text",
    "text",
    "bigint", // group_size
    "float8", // poverty_score
    "text",
    "text",
    "text",
  ],
  data: ["bigint", "text"],
  identifiers: ["text", "text", "bigint", "text"],
  contacts: ["text", "text", "bigint"],
  // The value is sent as its JSON text (a string or a number) and stored as jsonb.
  values: ["text", "text", "bigint"],
  events: ["text", "text", "bigint", "text"],
};

function unnest(table: Table): string {
  return `unnest(${TYPES[table].map((t, i) => `$${i + 1}::${t}[]`).join(", ")})`;
}

const INSERT: Record<Table, string> = {
  registrants: `INSERT INTO registrants (id, ${REGISTRANT_COLUMNS}) SELECT * FROM ${unnest("registrants")}`,
  data: `INSERT INTO registrant_data (id, data) SELECT * FROM ${unnest("data")}`,
  identifiers: `INSERT INTO identifiers (id_value, id_type, registrant_id, live, registry)
    SELECT v, t, r, 1, g FROM ${unnest("identifiers")} AS u(v, t, r, g)`,
  contacts: `INSERT INTO registrant_contacts (kind, value, registrant_id) SELECT * FROM ${unnest("contacts")}
    ON CONFLICT DO NOTHING`,
  values: `INSERT INTO registrant_values (attr, value, registrant_id)
    SELECT a, v::jsonb, r FROM ${unnest("values")} AS u(a, v, r) ON CONFLICT DO NOTHING`,
  // Ids in record order: the rows are inserted in the arrays' order (the snapshot '' is lazy, see events.ts).
  events:
    `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
    SELECT g, 'registration', t, r, '', c FROM ${
      unnest("events")
    } WITH ORDINALITY AS u(g, t, r, c, n) ORDER BY n`,
};

/** `rows` (flattened, `width` values a row) as one array per column. */
function columns(rows: Value[], width: number, table: Table): PgValue[] {
  const n = rows.length / width;
  const out: Value[][] = Array.from({ length: width }, () => new Array<Value>(n));
  for (let i = 0, k = 0; i < n; i++) for (let c = 0; c < width; c++) out[c][i] = rows[k++];
  if (table === "values") out[1] = out[1].map((v) => JSON.stringify(v));
  return out as unknown as PgValue[];
}

/**
 * Writes the buffered rows of `p` (registrants first: the other tables refer to them) inside the batch's
 * transaction, and empties the buffer. PostgreSQL needs no deferred value rows (see `flushChunk`): every
 * table's rows go in at each flush.
 */
export async function pgFlushInserts(client: PgClient, p: PendingInserts): Promise<void> {
  if (p.count === 0) return;
  for (const table of ["registrants", "data", "identifiers", "contacts", "values", "events"] as const) {
    const rows = p.rows[table];
    if (rows.length > 0) await pgRun(client, INSERT[table], columns(rows, WIDTH[table], table));
    p.rows[table] = [];
  }
  p.count = 0;
}

/** `n` new registrant ids from the identity sequence, ascending (taken now: unused ones are gaps, as a rollback's). */
export async function reserveIds(client: PgClient, n: number): Promise<number[]> {
  if (n <= 0) return [];
  const rows = await pgAll<{ id: number }>(
    client,
    "SELECT nextval(pg_get_serial_sequence('registrants', 'id')) AS id FROM generate_series(1, $1)",
    [n],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}
