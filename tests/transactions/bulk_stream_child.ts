/**
 * Child of bulk_units_test.ts: reads 1M generated CSV lookups (about 30 MB) through lookupReader() into a file
 * spool (the embedded SpoolStore), under a V8 heap cap the test sets far below the file's size; prints the count.
 * Exits non-zero (out of memory) if the reader held the file.
 */
import { join } from "node:path";
import { lookupReader } from "../../src/transactions/bulk_file.ts";
import { sqliteSpoolStore } from "../../src/transactions/spool_store.ts";
import { openDatabase } from "../../src/db/sqlite.ts";

const n = Number(Deno.args[0] ?? 1_000_000);
const dataDir = await Deno.makeTempDir({ prefix: "bulk-stream-" });
const db = openDatabase(":memory:");
const name = `${crypto.randomUUID()}.lookups`;
const spool = await sqliteSpoolStore(db, dataDir).create(name);
try {
  const reader = lookupReader("csv", spool, { maxItems: n });
  const enc = new TextEncoder();
  reader.write(enc.encode("reference_id,type,value\n"));
  for (let i = 0; i < n; i += 2000) {
    let block = "";
    for (let k = i; k < i + 2000; k++) block += `r${k},UIN,${String(k * 7919).padStart(10, "0")}\n`;
    reader.write(enc.encode(block));
  }
  const count = await reader.end();
  await spool.commit();
  console.log(JSON.stringify({ count, spoolBytes: (await Deno.stat(join(dataDir, "bulk", name))).size }));
} finally {
  db.close();
  await Deno.remove(dataDir, { recursive: true });
}
