/**
 * The fast path of a load on PostgreSQL: the rows buffered by fast_insert.ts (`bufferNew`) go in with one
 * `INSERT … SELECT … FROM json_array_elements($1)` per table, whatever the number of rows. Row
 * ids come from the registrants' identity sequence (`reserveIds`), never from MAX(id) + 1: instances load at
 * once, and a single-record write takes its id from the same sequence, so no id is handed out twice and no
 * `setval` is needed.
 */
import type { PgClient } from "../db/pg/pool.ts";
import { pgAll, pgRun } from "../db/pg/query.ts";
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
  // The value is a JSON string or number, stored as jsonb as it is.
  values: ["text", "jsonb", "bigint"],
  events: ["text", "text", "bigint", "text"],
};

/**
 * The columns of the rows of `table`, sent as one JSON array of row arrays: JSON.stringify and PostgreSQL's JSON
 * parser are several times faster than the driver's array literals (`unnest($1::text[], …)`) on 10,000 rows.
 */
function fields(table: Table): string[] {
  return TYPES[table].map((t, i) => t === "jsonb" ? `(r -> ${i})::jsonb` : `(r ->> ${i})::${t}`);
}
const ROWS = "json_array_elements($1::json)";

const INSERT: Record<Table, string> = {
  registrants: `INSERT INTO registrants (id, ${REGISTRANT_COLUMNS}) SELECT ${
    fields("registrants")
  } FROM ${ROWS} r`,
  data: `INSERT INTO registrant_data (id, data) SELECT ${fields("data")} FROM ${ROWS} r`,
  identifiers: `INSERT INTO identifiers (id_value, id_type, registrant_id, registry, live)
    SELECT ${fields("identifiers")}, 1 FROM ${ROWS} r`,
  contacts: `INSERT INTO registrant_contacts (kind, value, registrant_id) SELECT ${
    fields("contacts")
  } FROM ${ROWS} r
    ON CONFLICT DO NOTHING`,
  values: `INSERT INTO registrant_values (attr, value, registrant_id) SELECT ${
    fields("values")
  } FROM ${ROWS} r
    ON CONFLICT DO NOTHING`,
  // Ids in record order: the rows are inserted in the array's order (the snapshot '' is lazy, see events.ts).
  events:
    `INSERT INTO registry_events (registry, record_type, registrant_id, created_at, event_type, snapshot)
    SELECT ${fields("events")}, 'registration', '' FROM ${ROWS} WITH ORDINALITY AS u(r, n) ORDER BY n`,
};

/** `rows` (flattened, `width` values a row) as the JSON text of an array of rows. */
function rowsJson(rows: Value[], width: number): string {
  const out = new Array<Value[]>(rows.length / width);
  for (let i = 0; i < out.length; i++) out[i] = rows.slice(i * width, (i + 1) * width);
  return JSON.stringify(out);
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
    if (rows.length > 0) await pgRun(client, INSERT[table], [rowsJson(rows, WIDTH[table])]);
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
