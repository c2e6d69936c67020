/**
 * The import's multi-row fast path writes each batch's registry values in key order (fast_insert.ts): every
 * record still gets exactly its own values, numbers and text kept apart, whatever the order they were written in.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { valuePairs } from "../../src/registry/values.ts";
import type { Registrant } from "../../src/registry/model.ts";
import { chunkOf, prepareRecord, withoutFirst } from "../../src/registry/prepared.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";

const NOW = Date.parse("2026-03-01T10:00:00Z");

for (const profile of [crvsProfile, frProfile]) {
  Deno.test(`writeAll() fast path: every ${profile.name} record has exactly its own registry values`, async () => {
    const deps = await testDeps({}, { now: NOW });
    try {
      const report = await deps.storage.registryLoad.writeAll(demoSource(profile, 400, 3), {
        now: () => new Date(NOW).toISOString(),
        profile,
        batchSize: 150,
      });
      assert.equal(report.rejectedCount, 0);
      const stored = new Map<number, string[]>();
      // On PostgreSQL the value is jsonb (a number or a string, as SQLite's typed value) and the id a bigint.
      for (const r of await deps.sql("SELECT attr, value, registrant_id AS id FROM registrant_values")) {
        const list = stored.get(Number(r.id)) ?? [];
        list.push(`${r.attr}=${typeof r.value}:${r.value}`);
        stored.set(Number(r.id), list);
      }
      let total = 0;
      for (const row of await deps.sql("SELECT id, data FROM registrant_data")) {
        const pairs = valuePairs(JSON.parse(String(row.data)) as Registrant);
        const want: string[] = [];
        for (let k = 0; k < pairs.length; k += 2) {
          want.push(`${pairs[k]}=${typeof pairs[k + 1]}:${pairs[k + 1]}`);
        }
        assert.deepEqual((stored.get(Number(row.id)) ?? []).sort(), want.sort(), `registrant ${row.id}`);
        total += want.length;
      }
      assert.ok(total > 400, `the demo records have registry values (${total})`);
      assert.equal(
        Number((await deps.sql("SELECT COUNT(*) AS n FROM registrant_values"))[0].n),
        total,
      );
    } finally {
      deps.close();
    }
  });
}

Deno.test("withoutFirst(): a chunk cut short (a resumed import job) keeps the rest's identifier, contact and value rows", () => {
  const now = new Date(NOW).toISOString();
  const social = [...demoRecords(30, 5)].map((r) => prepareRecord(r, now));
  const crvs = [...demoSource(crvsProfile, 30, 5)].map((r) => prepareRecord(r, now, crvsProfile));
  for (
    const [name, prepared, again] of [
      ["social", social, () => [...demoRecords(30, 5)].map((r) => prepareRecord(r, now))],
      [
        "crvs",
        crvs,
        () => [...demoSource(crvsProfile, 30, 5)].map((r) => prepareRecord(r, now, crvsProfile)),
      ],
    ] as const
  ) {
    const cut = 7;
    // chunkOf drops the records' own contacts and values: the sorted rows are all the writer gets.
    const chunk = withoutFirst(chunkOf(now, prepared, true), cut);
    const fresh = chunkOf(now, again().slice(cut), true);
    assert.deepEqual(chunk.records.map((r) => r.externalId), fresh.records.map((r) => r.externalId));
    assert.deepEqual(chunk.rows, fresh.rows, name);
    const rows = chunk.rows!;
    assert.ok(rows.identifiers.length > 0 && rows.contacts.length + rows.values.length > 0, name);
  }
});
