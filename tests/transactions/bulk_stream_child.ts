/**
 * Child of bulk_units_test.ts: reads 1M generated CSV lookups (about 30 MB) through lookupReader() into a spool,
 * under a V8 heap cap the test sets far below the file's size; prints the count. Exits non-zero (out of memory)
 * if the reader held the file.
 */
import { lookupReader } from "../../src/transactions/bulk_file.ts";

const n = Number(Deno.args[0] ?? 1_000_000);
const path = await Deno.makeTempFile({ prefix: "bulk-stream-" });
const spool = await Deno.open(path, { write: true, truncate: true });
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
  console.log(JSON.stringify({ count, spoolBytes: (await Deno.stat(path)).size }));
} finally {
  spool.close();
  await Deno.remove(path);
}
