/**
 * Bulk search by file, end to end: a file of N idtype-value lookups uploaded (signed multipart, the spec's
 * FileInfo) to the real server on a seeded registry, until a loopback receiver has every on-search page.
 * Prints lookups/s end to end beside the target (≥ 5,000/s), the ACK time (upload and spooling), the server's
 * peak RSS and CPU time, and the load average (other work on the machine moves the wall-clock figures).
 *
 *   deno run -A bench/bulk_search.ts                        # 100k lookups on a 100k-person registry
 *   BENCH_BULK_N=1000000 deno run -A bench/bulk_search.ts   # 1M lookups
 *
 * Env: BENCH_BULK_N (lookups, default 100000), BENCH_BULK_PERSONS (registry size, default N), BENCH_BULK_PAGE
 * (DCI_BULK_PAGE_SIZE, default 1000), BENCH_BULK_FORMAT (csv | json, default csv), BENCH_BULK_DATA_DIR (an
 * already seeded data dir to reuse), BENCH_BULK_UNKNOWN (share of lookups nobody has, default 0.1).
 */
import {
  cpuMs,
  fmt,
  loadAverage,
  printTable,
  rssMb,
  sampleUins,
  seededDataDir,
  startRealServer,
} from "./_lib.ts";
import { createServerSender } from "../tests/helpers/auth.ts";
import { bulkForm, fileText, postBulk, type TestLookup } from "../tests/transactions/bulk_support.ts";

const N = Number(Deno.env.get("BENCH_BULK_N") ?? 100_000);
const PERSONS = Number(Deno.env.get("BENCH_BULK_PERSONS") ?? N);
const PAGE = Number(Deno.env.get("BENCH_BULK_PAGE") ?? 1000);
const FORMAT = (Deno.env.get("BENCH_BULK_FORMAT") ?? "csv") as "csv" | "json";
const UNKNOWN = Number(Deno.env.get("BENCH_BULK_UNKNOWN") ?? 0.1);
const TARGET = 5000;

async function main(): Promise<void> {
  const seedStart = performance.now();
  const dataDir = Deno.env.get("BENCH_BULK_DATA_DIR") ?? await seededDataDir(PERSONS);
  console.log(`registry of ${PERSONS} persons ready in ${fmt((performance.now() - seedStart) / 1000, 1)} s`);
  const uins = sampleUins(dataDir, N);
  const lookups: TestLookup[] = Array.from({ length: N }, (_, i) => ({
    ref: `b${i + 1}`,
    type: "UIN",
    value: (i * 7919 % 1000) / 1000 < UNKNOWN ? `NOBODY-${i}` : uins[i % uins.length],
  }));
  let items = 0;
  let pages = 0;
  let lastAt = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => done = r);
  const seen = new Set<string>();
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json().catch(() => ({}));
    const id = body?.header?.message_id;
    if (typeof id === "string" && !seen.has(id)) {
      seen.add(id);
      pages++;
      items += body?.message?.search_response?.length ?? 0;
      lastAt = performance.now();
      if (items >= N) done();
    }
    return new Response('{"message":{"ack_status":"ACK"}}', {
      headers: { "content-type": "application/json" },
    });
  });
  const server = await startRealServer(dataDir, {
    DCI_WORKER: "true",
    DCI_OUTBOUND_ALLOW: "127.0.0.1",
    DCI_RATE_LIMIT_MINUTE: "10000000",
    DCI_RATE_LIMIT_DAY: "1000000000",
    DCI_BULK_PAGE_SIZE: String(PAGE),
    DCI_BULK_MAX_ITEMS: String(Math.max(N, 1_000_000)),
  });
  let peakRss = rssMb(server.pid);
  const sampler = setInterval(() => peakRss = Math.max(peakRss, rssMb(server.pid)), 100);
  try {
    const sender = await createServerSender({ url: server.url, dataDir });
    const form = await bulkForm(sender.senderId, {
      format: FORMAT,
      file: fileText(FORMAT, lookups),
      senderUri: `http://127.0.0.1:${receiver.addr.port}`,
    });
    const rssBefore = rssMb(server.pid);
    const cpuBefore = cpuMs(server.pid);
    const start = performance.now();
    const res = await postBulk(`${server.url}/registry/search`, sender, form);
    const ackMs = performance.now() - start;
    if (res.status !== 202) throw new Error(`upload refused: ${res.status} ${JSON.stringify(res.body)}`);
    await all;
    const seconds = (lastAt - start) / 1000;
    const cpuS = (cpuMs(server.pid) - cpuBefore) / 1000;
    printTable(
      `Bulk search by file: ${N} lookups (${FORMAT}, ${(form.bytes.length / 2 ** 20).toFixed(1)} MB), ` +
        `${PERSONS}-person registry, pages of ${PAGE}`,
      [
        {
          lookups: String(N),
          pages: String(pages),
          "ACK (upload + spool)": `${fmt(ackMs)} ms`,
          "all pages in": `${fmt(seconds, 1)} s`,
          "lookups/s": fmt(N / seconds),
          target: `≥ ${TARGET}`,
          met: N / seconds >= TARGET ? "yes" : "no",
          "server CPU": `${fmt(cpuS, 1)} s (${fmt(N / cpuS)} lookups per CPU-s)`,
          "RSS idle → peak": `${fmt(rssBefore)} → ${fmt(peakRss)} MB`,
          "load avg": loadAverage(),
        },
      ],
    );
  } finally {
    clearInterval(sampler);
    await server.stop();
    await receiver.shutdown();
  }
}

if (import.meta.main) await main();
