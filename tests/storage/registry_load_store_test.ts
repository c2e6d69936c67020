/**
 * RegistryLoadStore (src/registry/load_store.ts, pg_load_store.ts): a load gives the same rows, events (in id
 * order), identifiers, contacts, values, rejections and report on both backends; a re-load upserts; households are
 * found within a batch and across batches; two instances loading at once on PostgreSQL commit events in id order.
 */
import assert from "node:assert/strict";
import { backendTest, freshStorage, type RawSql } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import type { Storage } from "../../src/db/storage.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import type { SourceRecord } from "../../src/registry/batch.ts";
import type { RegistryProfile } from "../../src/registries/profile.ts";
import { EVENT_SNAPSHOT } from "../../src/registry/events.ts";
import { allBatches } from "../../src/registry/load_store.ts";
import { recordTypeIndexList } from "../../src/registries/indexes.ts";

const NOW = "2026-03-01T10:00:00.000Z";

/** Everything a load writes, without row ids (households and events name their registrant by external id). */
async function dump(raw: RawSql) {
  // SQLite's rows have a null prototype: plain objects compare equal to PostgreSQL's.
  const sql = async (text: string) => (await raw(text)).map((r) => ({ ...r }));
  const ext = "(SELECT x.registry || '/' || x.external_id FROM registrants x WHERE x.id = ";
  return {
    registrants: await sql(
      `SELECT r.*, ${ext}r.group_id) AS grp, d.data FROM registrants r JOIN registrant_data d ON d.id = r.id
       ORDER BY r.registry, r.external_id`,
    ).then((rows) => rows.map(({ id: _id, group_id: _g, ...rest }) => rest)),
    identifiers: await sql(
      `SELECT id_type, id_value, live, registry, ${ext}registrant_id) AS owner FROM identifiers
       ORDER BY id_type, id_value, owner`,
    ),
    contacts: await sql(
      `SELECT kind, value, ${ext}registrant_id) AS owner FROM registrant_contacts ORDER BY kind, value, owner`,
    ),
    // jsonb on PostgreSQL (read back as a string or a number), a text or a number on SQLite.
    values: (await sql(`SELECT attr, value, ${ext}registrant_id) AS owner FROM registrant_values`))
      .map((r) => JSON.stringify([r.attr, r.value, r.owner])).sort(),
    events: await sql(
      `SELECT e.registry, e.event_type, e.record_type, ${ext}e.registrant_id) AS owner, e.snapshot = '' AS lazy,
         ${EVENT_SNAPSHOT} AS snapshot, e.created_at FROM registry_events e ORDER BY e.id`,
    ).then((rows) => rows.map((r): Record<string, unknown> => ({ ...r, lazy: Boolean(r.lazy) }))),
  };
}

/** Source records with the problems a file has: unreadable, a taken identifier, an unknown household, repeats. */
function withProblems(): SourceRecord[] {
  const base = [...demoRecords(40, 3)].map((r, i) => ({ ...r, line: i + 1 }));
  const person = base.find((r) => (r.raw as { record_type?: string }).record_type !== "group")!;
  const raw = person.raw as Record<string, unknown>;
  return [
    ...base,
    { line: 900, error: "line 900: not JSON" },
    { line: 901, raw: { ...raw, id: "OTHER-1" } }, // its UIN belongs to `person`
    { line: 902, raw: { ...raw, id: "OTHER-2", identifier: [], group_id: "NO-SUCH-HOUSEHOLD" } },
    { line: 903, raw: { id: "X-1", record_type: "spaceship" } },
    { line: 904, raw: { ...raw, name: { given_name: "Renamed", surname: "Again" } } }, // an update mid-load
  ];
}

async function load(
  storage: Storage,
  source: Iterable<SourceRecord>,
  batchSize: number,
  profile?: RegistryProfile,
) {
  return await storage.registryLoad.writeAll(source, { now: () => NOW, batchSize, profile });
}

/** Runs `fn` on a fresh database of each backend; resolves with both results. */
async function onBoth<T>(fn: (storage: Storage, sql: RawSql) => Promise<T>): Promise<[T, T]> {
  const out: T[] = [];
  for (const kind of ["sqlite", "postgres"] as const) {
    const t = await freshStorage(kind);
    try {
      out.push(await fn(t.storage, t.sql));
    } finally {
      await t.close();
    }
  }
  return out as [T, T];
}

Deno.test("a load of households and persons, then crvs records, writes the same on both backends", async () => {
  const [sqlite, pg] = await onBoth(async (storage, sql) => {
    // Batches of 7: households and their members fall in different batches.
    const social = await load(storage, demoRecords(300, 1), 7);
    const crvs = await load(storage, demoSource(crvsProfile, 60, 9), 25, crvsProfile);
    return { social, crvs, rows: await dump(sql) };
  });
  assert.equal(sqlite.social.registered, sqlite.social.read);
  assert.ok(sqlite.rows.contacts.length > 100 && sqlite.rows.values.length > 100);
  assert.ok(sqlite.rows.registrants.filter((r) => r.grp !== null).length >= 300);
  assert.deepEqual(pg, sqlite);
});

Deno.test("rejections, counts and an update within a load are the same on both backends", async () => {
  const [sqlite, pg] = await onBoth(async (storage, sql) => {
    const report = await load(storage, withProblems(), 10);
    return { report, rows: await dump(sql) };
  });
  assert.equal(sqlite.report.rejectedCount, 4);
  assert.equal(sqlite.report.updated, 1);
  assert.deepEqual(pg.report, sqlite.report);
  assert.deepEqual(pg.rows, sqlite.rows);
});

Deno.test("a re-load upserts (updates, update events with the earlier snapshot kept) on both backends", async () => {
  const [sqlite, pg] = await onBoth(async (storage, sql) => {
    const first = await load(storage, demoRecords(50, 2), 20);
    const second = await load(storage, demoRecords(60, 2), 20);
    return { first, second, rows: await dump(sql) };
  });
  assert.equal(sqlite.second.updated, sqlite.first.registered);
  assert.equal(sqlite.second.registered, sqlite.second.read - sqlite.first.read);
  assert.ok(sqlite.rows.events.some((e) => e.event_type === "update"));
  assert.deepEqual(pg, sqlite);
});

backendTest(
  "a bulk load defers the registry's indexes (SQLite keeps last_updated's) and restores them (social, and crvs never written)",
  async (s, sql) => {
    const names = async (prefix: string) =>
      (s.kind === "sqlite"
        ? await sql("SELECT name FROM sqlite_master WHERE type = 'index' AND substr(name, 1, ?) = ?", [
          prefix.length,
          prefix,
        ])
        : await sql("SELECT indexname AS name FROM pg_indexes WHERE substr(indexname, 1, ?) = ?", [
          prefix.length,
          prefix,
        ])).map((r) => String(r.name));
    const indexes = async (prefix: string) => (await names(prefix)).length;
    const cases: Array<[string | undefined, string, () => Iterable<SourceRecord>]> = [
      [undefined, "reg_p_", () => demoRecords(5, 1)],
      ["crvs", "reg_r_crvs_person_", () => demoSource(crvsProfile, 5, 9)],
    ];
    for (const [registry, prefix, source] of cases) {
      const before = await indexes(prefix);
      assert.equal(await s.registry.isEmpty(registry), true);
      let during: string | undefined;
      let deferred: Array<{ name: string; sql: string }> = [];
      const batches = (async function* () {
        yield* allBatches(source(), { now: () => NOW, profile: registry ? crvsProfile : undefined });
        during = (await names(prefix)).join();
        deferred = (await sql("SELECT name, sql FROM registry_deferred_indexes")).map((r) => ({
          name: String(r.name),
          sql: String(r.sql),
        }));
      })();
      const report = await s.registryLoad.bulkLoad(batches, { registry });
      assert.ok(report.registered >= 5);
      // SQLite keeps the last_updated index: a load appends its entries in key order (bulk.ts, APPENDED_SUFFIX).
      assert.equal(during, s.kind === "sqlite" ? `${prefix}updated` : "");
      assert.ok(await indexes(prefix) >= Math.max(before, 5), prefix);
      if (registry === "crvs") {
        // Never written, so never built before the load: their DDL was recorded from the profile (as written in
        // indexes.ts, IF NOT EXISTS), not read back from indexes built only to be dropped (each a read of every
        // registrant); the load's end built them all.
        const all = crvsProfile.recordTypes.flatMap((rt) =>
          recordTypeIndexList(rt, "sqlite").map((i) => i.name)
        );
        assert.deepEqual(
          deferred.map((d) => d.name).sort(),
          all.filter((n) => s.kind !== "sqlite" || !n.endsWith("_updated")).sort(),
        );
        assert.ok(
          deferred.every((d) => d.sql.startsWith("CREATE INDEX IF NOT EXISTS")),
          JSON.stringify(deferred),
        );
        assert.deepEqual((await names(prefix)).sort(), [...all].sort());
      }
      assert.equal((await sql("SELECT name FROM registry_deferred_indexes")).length, 0);
      assert.equal(await s.registry.isEmpty(registry), false);
    }
  },
);

Deno.test("two instances loading disjoint files at once on PostgreSQL commit events in id order", async () => {
  await withPgInstances(2, async ([a, b], sql) => {
    const seen = new Set<number>();
    let cursor = 0;
    const poll = async () => {
      const rows = await sql("SELECT id FROM registry_events WHERE id > ? ORDER BY id", [cursor]);
      for (const r of rows) seen.add(Number(r.id));
      if (rows.length > 0) cursor = Number(rows[rows.length - 1].id);
    };
    let loading = true;
    const reader = (async () => {
      while (loading) await poll();
    })();
    const reports = await Promise.all([load(a, demoRecords(600, 4), 20), load(b, demoRecords(600, 5), 20)])
      .finally(() => loading = false);
    await reader;
    await poll();
    const total = Number((await sql("SELECT COUNT(*) AS n FROM registry_events"))[0].n);
    assert.equal(total, reports[0].registered + reports[1].registered);
    // A reader following the cursor saw every event: none committed after a later one was visible.
    assert.equal(seen.size, total);
  });
});
