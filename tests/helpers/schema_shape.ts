/**
 * The shape of a schema, read from SQLite (after src/db/migrate.ts) or from PostgreSQL (after src/db/pg/migrate.ts),
 * in one normalised form so the two can be compared: tables, columns (type class and nullability), primary keys,
 * unique constraints, named indexes (columns, uniqueness, the words of a partial index's predicate) and foreign keys.
 */
import type { Db } from "../../src/db/sqlite.ts";
import type { PgPool } from "../../src/db/pg/pool.ts";

/** One table's normalised shape. */
export interface TableShape {
  /** column → "<type class> null|not null" */
  columns: Record<string, string>;
  primaryKey: string[];
  /** Each UNIQUE constraint's columns, comma separated, sorted. */
  unique: string[];
  /** index name → "unique? (col, col) where <predicate words>" */
  indexes: Record<string, { unique: boolean; columns: string[]; where: string }>;
  /** "cols -> table(cols) on delete <action>", sorted. */
  foreignKeys: string[];
}

/** Table name → shape. */
export type SchemaShape = Record<string, TableShape>;

/** SQLite's declared type or PostgreSQL's type name → the class both map to. */
export function typeClass(declared: string): string {
  const t = declared.toLowerCase().trim();
  if (t === "" || t === "jsonb") return "any"; // SQLite: no type (a value of any kind); PostgreSQL: a JSON scalar
  if (/int/.test(t)) return "integer";
  if (/char|text|clob/.test(t)) return "text";
  if (/real|floa|doub/.test(t)) return "real";
  if (/blob|bytea/.test(t)) return "blob";
  return `other:${t}`;
}

const PREDICATE_NOISE = new Set(["and", "is", "null", "not", "in", "any", "all", "array", "text", "bigint"]);

/**
 * The identifiers and literals of a partial index's predicate, sorted: `state IN ('a', 'b')` and PostgreSQL's
 * `(state = ANY (ARRAY['a'::text, 'b'::text]))` give the same words. A coarse check (it cannot tell `=` from
 * `<>`), enough to catch a predicate on another column or value.
 */
export function predicateWords(where: string | null): string {
  if (!where) return "";
  const words = where.toLowerCase().match(/'[^']*'|[a-z_][a-z0-9_]*|\d+/g) ?? [];
  return words.filter((w) => !PREDICATE_NOISE.has(w)).sort().join(" ");
}

type Row = Record<string, unknown>;

/** The shape of the SQLite schema in `db`. */
export function sqliteShape(db: Db): SchemaShape {
  const all = (sql: string, ...args: string[]) => db.prepare(sql).all(...args) as Row[];
  const shape: SchemaShape = {};
  const tables = all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  for (const { name } of tables as Array<{ name: string }>) {
    const cols = all("SELECT * FROM pragma_table_info(?)", name);
    const primaryKey = cols.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((c) => String(c.name));
    const columns: Record<string, string> = {};
    for (const c of cols) {
      // A primary key column never holds NULL in PostgreSQL; SQLite's INTEGER PRIMARY KEY (the rowid) cannot either.
      const notNull = Number(c.notnull) === 1 || Number(c.pk) > 0;
      columns[String(c.name)] = `${typeClass(String(c.type))} ${notNull ? "not null" : "null"}`;
    }
    const unique: string[] = [];
    const indexes: TableShape["indexes"] = {};
    for (const ix of all("SELECT * FROM pragma_index_list(?)", name)) {
      const keyCols = all("SELECT * FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", String(ix.name))
        .map((k) => {
          const col = k.cid === -2 ? "<expression>" : String(k.name);
          return String(k.coll).toUpperCase() === "NOCASE" ? `lower(${col})` : col;
        });
      if (ix.origin === "u") unique.push(keyCols.join(","));
      if (ix.origin !== "c") continue;
      const sql =
        (db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(String(ix.name)) as { sql: string })
          .sql;
      const where = /\bWHERE\b([\s\S]*)$/i.exec(sql)?.[1] ?? null;
      indexes[String(ix.name)] = {
        unique: Number(ix.unique) === 1,
        columns: keyCols,
        where: predicateWords(where),
      };
    }
    const foreignKeys = all("SELECT * FROM pragma_foreign_key_list(?)", name);
    const byId = new Map<number, Row[]>();
    for (const fk of foreignKeys) byId.set(Number(fk.id), [...(byId.get(Number(fk.id)) ?? []), fk]);
    const fks = [...byId.values()].map((parts) => {
      parts.sort((a, b) => Number(a.seq) - Number(b.seq));
      const from = parts.map((p) => p.from).join(",");
      const to = parts.map((p) => p.to).join(",");
      return `${from} -> ${parts[0].table}(${to}) on delete ${String(parts[0].on_delete).toLowerCase()}`;
    });
    shape[name] = { columns, primaryKey, unique: unique.sort(), indexes, foreignKeys: fks.sort() };
  }
  return shape;
}

const PG_DELETE: Record<string, string> = {
  a: "no action",
  r: "restrict",
  c: "cascade",
  n: "set null",
  d: "set default",
};

/** The shape of the PostgreSQL schema `public` that `pool` connects to. */
export async function pgShape(pool: PgPool): Promise<SchemaShape> {
  const q = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as Row[];
  const shape: SchemaShape = {};
  const tables = await q(
    "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
      "WHERE n.nspname = 'public' AND c.relkind = 'r'",
  );
  for (const t of tables) {
    const oid = Number(t.oid);
    const cols = await q(
      "SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull FROM pg_attribute a " +
        "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      [oid],
    );
    const nameOf = new Map(cols.map((c) => [Number(c.attnum), String(c.attname)]));
    const columns: Record<string, string> = {};
    for (const c of cols) {
      columns[String(c.attname)] = `${typeClass(String(c.type))} ${c.attnotnull ? "not null" : "null"}`;
    }
    const constraints = await q(
      "SELECT contype, conkey, confkey, confrelid::regclass::text AS ref, confdeltype, conindid FROM pg_constraint " +
        "WHERE conrelid = $1",
      [oid],
    );
    const names = (keys: unknown) => (keys as number[]).map((k) => nameOf.get(Number(k)) ?? `#${k}`);
    const pk = constraints.find((c) => c.contype === "p");
    const unique = constraints.filter((c) => c.contype === "u").map((c) => names(c.conkey).join(","));
    const foreignKeys: string[] = [];
    for (const c of constraints.filter((c) => c.contype === "f")) {
      const refCols = await q(
        "SELECT attnum, attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum = ANY($2::int2[])",
        [c.ref, c.confkey],
      );
      const refName = new Map(refCols.map((r) => [Number(r.attnum), String(r.attname)]));
      const to = (c.confkey as number[]).map((k) => refName.get(Number(k))).join(",");
      foreignKeys.push(
        `${names(c.conkey).join(",")} -> ${c.ref}(${to}) on delete ${PG_DELETE[String(c.confdeltype)]}`,
      );
    }
    const backing = new Set(constraints.map((c) => Number(c.conindid)).filter((n) => n > 0));
    const indexes: TableShape["indexes"] = {};
    const ixRows = await q(
      "SELECT i.indexrelid, c.relname, i.indisunique, i.indnkeyatts, pg_get_expr(i.indpred, i.indrelid) AS pred " +
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1",
      [oid],
    );
    for (const ix of ixRows) {
      if (backing.has(Number(ix.indexrelid))) continue;
      const keyCols: string[] = [];
      for (let k = 1; k <= Number(ix.indnkeyatts); k++) {
        const def = (await q("SELECT pg_get_indexdef($1, $2, true) AS d", [ix.indexrelid, k]))[0].d as string;
        keyCols.push(def.replace(/\s+\w+_pattern_ops$/, ""));
      }
      indexes[String(ix.relname)] = {
        unique: Boolean(ix.indisunique),
        columns: keyCols,
        where: predicateWords(ix.pred as string | null),
      };
    }
    shape[String(t.relname)] = {
      columns,
      primaryKey: pk ? names(pk.conkey) : [],
      unique: unique.sort(),
      indexes,
      foreignKeys: foreignKeys.sort(),
    };
  }
  return shape;
}
