/**
 * Loading through RegistryLoadStore on each backend: BENCH_PERSONS (default 100,000) social demo persons and their
 * households, prepared in process, `BENCH_BATCH` records per transaction (default 5,000), into an empty registry
 * (a bulk load: indexes deferred and rebuilt) and again with the indexes kept (`bulk: false`). PostgreSQL: the
 * test cluster of DCI_TEST_PG_URL (a fresh database). Prints records/s; the rebuild is included.
 *
 *   DCI_TEST_PG_URL=postgres://… deno run -A bench/load_store.ts
 */
import { freshStorage } from "../tests/helpers/storage.ts";
import { demoRecords } from "../src/registries/social/seed.ts";
import { allBatches } from "../src/registry/load_store.ts";

const PERSONS = Number(Deno.env.get("BENCH_PERSONS") ?? 100_000);
const BATCH = Number(Deno.env.get("BENCH_BATCH") ?? 5000);
const now = () => new Date().toISOString();

for (const kind of ["sqlite", "postgres"] as const) {
  for (const bulk of [true, false]) {
    const t = await freshStorage(kind);
    try {
      const started = performance.now();
      const report = await t.storage.registryLoad.bulkLoad(
        allBatches(demoRecords(PERSONS, 1), { now, batchSize: BATCH }),
        { bulk },
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `${kind.padEnd(8)} ${bulk ? "bulk (indexes deferred)" : "indexes kept          "} ` +
          `${report.registered} records in ${seconds.toFixed(1)} s: ${
            Math.round(report.registered / seconds)
          }/s`,
      );
    } finally {
      await t.close();
    }
  }
}
