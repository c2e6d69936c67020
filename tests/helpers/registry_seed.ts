/**
 * Registry rows for tests of either backend: records are written once by the SQLite writers (src/registry/batch.ts)
 * into a source database, and its registry tables are copied, row for row and id for id, into the test's database
 * (SQLite or PostgreSQL) with raw SQL, a few thousand rows a statement (JSON in, the engine's JSON functions out).
 * Both backends then hold exactly the same registry, whichever writer PostgreSQL gets.
 */
import { openDatabase, transaction } from "../../src/db/sqlite.ts";
import type { Db } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { deleteRegistrant } from "../../src/registry/store.ts";
import type { SourceRecord } from "../../src/registry/batch.ts";
import type { RegistryProfile } from "../../src/registries/profile.ts";
import type { StorageKind } from "../../src/db/storage.ts";
import type { RawSql } from "./storage.ts";

/** The registry tables, parents first. */
const TABLES = ["registrants", "registrant_data", "identifiers", "registrant_contacts", "registrant_values"];

/** Rows per statement. */
const CHUNK = 5000;

/** A source database holding `records` written by the SQLite writers, then `deleted` (external ids) deleted. */
export async function sourceRegistry(
  records: Iterable<SourceRecord> | AsyncIterable<SourceRecord>,
  options: { now: string; profile?: RegistryProfile; deleted?: string[] },
): Promise<Db> {
  const db = openDatabase(":memory:");
  migrate(db);
  const report = await writeAll(db, records, {
    now: () => options.now,
    ...(options.profile ? { profile: options.profile } : {}),
  });
  if (report.rejectedCount) throw new Error(JSON.stringify(report.rejected.slice(0, 3)));
  for (const id of options.deleted ?? []) {
    transaction(db, () =>
      deleteRegistrant(db, id, {
        now: options.now,
        ...(options.profile ? { registry: options.profile.name } : {}),
      }));
  }
  return db;
}

/** Copies the registry tables of `source` into the test database behind `sql` (of backend `kind`). */
export async function copyRegistry(source: Db, kind: StorageKind, sql: RawSql): Promise<void> {
  for (const table of TABLES) {
    const columns = (source.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>)
      .map((c) => c.name);
    const rows = source.prepare(`SELECT * FROM ${table}${table === "registrants" ? " ORDER BY id" : ""}`)
      .all();
    for (let at = 0; at < rows.length; at += CHUNK) {
      const json = JSON.stringify(rows.slice(at, at + CHUNK));
      if (kind === "postgres") {
        await sql(
          `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${columns.join(", ")} ` +
            `FROM jsonb_populate_recordset(NULL::${table}, ?::jsonb)`,
          [json],
        );
      } else {
        await sql(
          `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${
            columns.map((c) => `json_extract(value, '$.${c}')`).join(", ")
          } FROM json_each(?)`,
          [json],
        );
      }
    }
  }
  if (kind === "postgres") {
    await sql(
      "SELECT setval(pg_get_serial_sequence('registrants', 'id'), (SELECT max(id) FROM registrants))",
    );
    await sql("ANALYZE");
  }
}
