/**
 * Loading through RegistryLoadStore on each backend: BENCH_PERSONS (default 100,000) social demo persons and their
 * households, prepared in process, `BENCH_BATCH` records per transaction (default 5,000), into an empty registry
 * (a bulk load: indexes deferred and rebuilt), with the indexes kept (`bulk: false`), and that load again (every
 * record an update: a monthly change file re-imported whole). PostgreSQL: the test cluster of DCI_TEST_PG_URL (a
 * fresh database). Prints records/s; the rebuild is included. BENCH_BACKENDS: `sqlite`, `postgres` or both
 * (default).
 *
 *   DCI_TEST_PG_URL=postgres://… deno run -A bench/load_store.ts
 */
import { freshStorage } from "../tests/helpers/storage.ts";
import { demoRecords } from "../src/registries/social/seed.ts";
import { allBatches } from "../src/registry/load_store.ts";

const PERSONS = Number(Deno.env.get("BENCH_PERSONS") ?? 100_000);
const BATCH = Number(Deno.env.get("BENCH_BATCH") ?? 5000);
const now = () => new Date().toISOString();

/** Loads the demo records into `t`'s storage once and prints the rate under `label`. */
async function load(t: Awaited<ReturnType<typeof freshStorage>>, kind: string, bulk: boolean, label: string) {
  const started = performance.now();
  const report = await t.storage.registryLoad.bulkLoad(
    allBatches(demoRecords(PERSONS, 1), { now, batchSize: BATCH }),
    { bulk },
  );
  const seconds = (performance.now() - started) / 1000;
  const records = report.registered + report.updated;
  console.log(
    `${kind.padEnd(8)} ${label.padEnd(23)} ${records} records (${report.updated} updated) in ${
      seconds.toFixed(1)
    } s: ${Math.round(records / seconds)}/s`,
  );
}

const KINDS = (Deno.env.get("BENCH_BACKENDS") ?? "sqlite,postgres").split(",") as Array<
  "sqlite" | "postgres"
>;

for (const kind of KINDS) {
  for (const bulk of [true, false]) {
    const t = await freshStorage(kind);
    try {
      await load(t, kind, bulk, bulk ? "bulk (indexes deferred)" : "indexes kept");
      // The same file again: every record is stored, so each one goes through the checked update path.
      if (!bulk) await load(t, kind, false, "again (all updates)");
    } finally {
      await t.close();
    }
  }
}
