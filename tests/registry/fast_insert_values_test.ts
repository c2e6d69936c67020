/**
 * The import's multi-row fast path writes each batch's registry values in key order (fast_insert.ts): every
 * record still gets exactly its own values, numbers and text kept apart, whatever the order they were written in.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { valuePairs } from "../../src/registry/values.ts";
import type { Registrant } from "../../src/registry/model.ts";

const NOW = Date.parse("2026-03-01T10:00:00Z");

for (const profile of [crvsProfile, frProfile]) {
  Deno.test(`writeAll() fast path: every ${profile.name} record has exactly its own registry values`, async () => {
    const deps = await testDeps({}, { now: NOW });
    try {
      const report = await writeAll(deps.db, demoSource(profile, 400, 3), {
        now: () => new Date(NOW).toISOString(),
        profile,
        batchSize: 150,
      });
      assert.equal(report.rejectedCount, 0);
      const stored = new Map<number, string[]>();
      for (
        const r of deps.db.prepare("SELECT attr, value, registrant_id AS id FROM registrant_values")
          .all() as Array<
            { attr: string; value: string | number; id: number }
          >
      ) {
        const list = stored.get(r.id) ?? [];
        list.push(`${r.attr}=${typeof r.value}:${r.value}`);
        stored.set(r.id, list);
      }
      let total = 0;
      for (
        const row of deps.db.prepare("SELECT id, data FROM registrant_data").all() as Array<
          { id: number; data: string }
        >
      ) {
        const pairs = valuePairs(JSON.parse(row.data) as Registrant);
        const want: string[] = [];
        for (let k = 0; k < pairs.length; k += 2) {
          want.push(`${pairs[k]}=${typeof pairs[k + 1]}:${pairs[k + 1]}`);
        }
        assert.deepEqual((stored.get(row.id) ?? []).sort(), want.sort(), `registrant ${row.id}`);
        total += want.length;
      }
      assert.ok(total > 400, `the demo records have registry values (${total})`);
      assert.equal(
        Number((deps.db.prepare("SELECT COUNT(*) AS n FROM registrant_values").get() as { n: number }).n),
        total,
      );
    } finally {
      deps.close();
    }
  });
}
