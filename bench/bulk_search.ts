/**
 * Bulk search by file, end to end: a file of N idtype-value lookups uploaded (signed multipart, the spec's
 * FileInfo) to the real server on a seeded registry, until a loopback receiver has every on-search page.
 * Prints lookups/s end to end beside the target (≥ 5,000/s), the ACK time (upload and spooling), the server's
 * peak RSS and CPU time, and the load average (other work on the machine moves the wall-clock figures).
 *
 *   deno run -A bench/bulk_search.ts                        # 100k lookups on a 100k-person registry
 *   BENCH_BULK_N=1000000 deno run -A bench/bulk_search.ts   # 1M lookups
 *
 * Then the first BENCH_BULK_INLINE lookups (default min(N, 20000)) again as inline async searches of
 * BENCH_BULK_INLINE_ITEMS idtype-value items each (default 10, the server's DCI_MAX_SEARCH_ITEMS default), for
 * their per-lookup speed beside the file's.
 *
 * Env: BENCH_BULK_N (lookups, default 100000), BENCH_BULK_PERSONS (registry size, default N), BENCH_BULK_PAGE
 * (DCI_BULK_PAGE_SIZE, default 1000), BENCH_BULK_FORMAT (csv | json, default csv), BENCH_BULK_DATA_DIR (an
 * already seeded data dir to reuse), BENCH_BULK_UNKNOWN (share of lookups nobody has, default 0.1), BENCH_BULK_FILE
 * (0: the inline phase only, e.g. for a profile of it alone).
 */
import {
  cpuMs,
  fmt,
  loadAverage,
  printTable,
  rssMb,
  sampleUins,
  seededDataDir,
  type Served,
  startRealServer,
} from "./_lib.ts";
import { createServerSender, type TestSender } from "../tests/helpers/auth.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";
import { openDatabase } from "../src/db/sqlite.ts";
import { bulkForm, fileText, postBulk, type TestLookup } from "../tests/transactions/bulk_support.ts";

const N = Number(Deno.env.get("BENCH_BULK_N") ?? 100_000);
const PERSONS = Number(Deno.env.get("BENCH_BULK_PERSONS") ?? N);
const PAGE = Number(Deno.env.get("BENCH_BULK_PAGE") ?? 1000);
const FORMAT = (Deno.env.get("BENCH_BULK_FORMAT") ?? "csv") as "csv" | "json";
const UNKNOWN = Number(Deno.env.get("BENCH_BULK_UNKNOWN") ?? 0.1);
const TARGET = 5000;
/** Lookups sent again as inline async searches (0: none), INLINE_ITEMS per request. */
const INLINE = Number(Deno.env.get("BENCH_BULK_INLINE") ?? Math.min(N, 20_000));
const INLINE_ITEMS = Number(Deno.env.get("BENCH_BULK_INLINE_ITEMS") ?? 10);
const INLINE_CONCURRENCY = 16;
const FILE_PHASE = Deno.env.get("BENCH_BULK_FILE") !== "0";

async function main(): Promise<void> {
  const seedStart = performance.now();
  const given = Deno.env.get("BENCH_BULK_DATA_DIR");
  const dataDir = given ?? await seededDataDir(PERSONS);
  // A reused data dir holds what it holds, whatever BENCH_BULK_PERSONS says.
  const persons = given ? personCount(dataDir) : PERSONS;
  console.log(`registry of ${persons} persons ready in ${fmt((performance.now() - seedStart) / 1000, 1)} s`);
  const uins = sampleUins(dataDir, N);
  const lookups: TestLookup[] = Array.from({ length: N }, (_, i) => ({
    ref: `b${i + 1}`,
    type: "UIN",
    value: (i * 7919 % 1000) / 1000 < UNKNOWN ? `NOBODY-${i}` : uins[i % uins.length],
  }));
  // The receiver counts answer items (each message_id once) towards the phase running: the file, then inline.
  let items = 0;
  let pages = 0;
  let lastAt = 0;
  let goal = Infinity;
  let done: (r: PhaseEnd) => void = () => {};
  const phase = (n: number) => {
    items = 0;
    pages = 0;
    goal = n;
    return new Promise<PhaseEnd>((r) => done = r);
  };
  const seen = new Set<string>();
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json().catch(() => ({}));
    const id = body?.header?.message_id;
    if (typeof id === "string" && !seen.has(id)) {
      seen.add(id);
      pages++;
      items += body?.message?.search_response?.length ?? 0;
      lastAt = performance.now();
      if (items >= goal) done({ pages, lastAt });
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
    DCI_MAX_SEARCH_ITEMS: String(INLINE_ITEMS),
  });
  let peakRss = rssMb(server.pid);
  const sampler = setInterval(() => peakRss = Math.max(peakRss, rssMb(server.pid)), 100);
  try {
    const sender = await createServerSender({ url: server.url, dataDir });
    if (FILE_PHASE) {
      await filePhase(server, sender, lookups, receiver.addr.port, phase, {
        persons,
        peakRss: () => peakRss,
      });
    }
    if (INLINE > 0) {
      const inline = await inlinePhase(server, sender, lookups.slice(0, INLINE), receiver.addr.port, phase);
      printTable(
        `The same lookups inline: ${inline.lookups} in ${inline.requests} signed async searches of ` +
          `${INLINE_ITEMS} idtype-value items (DCI_MAX_SEARCH_ITEMS), ${INLINE_CONCURRENCY} connections`,
        [{
          lookups: String(inline.lookups),
          "all callbacks in": `${fmt(inline.seconds, 1)} s`,
          "lookups/s": fmt(inline.lookups / inline.seconds),
          "server CPU": `${fmt(inline.cpuS, 1)} s (${fmt(inline.lookups / inline.cpuS)} lookups per CPU-s)`,
          // The senders and the receiver run here, on the same cores: with the server's CPU, how much of
          // the machine the phase used (near 1: the cores were the limit, not the server's design).
          "bench CPU": `${fmt(inline.benchCpuS, 1)} s`,
          "machine used": fmt(
            (inline.cpuS + inline.benchCpuS) / (inline.seconds * navigator.hardwareConcurrency),
            2,
          ),
          "load avg": loadAverage(),
        }],
      );
    }
  } finally {
    clearInterval(sampler);
    await server.stop();
    await receiver.shutdown();
  }
}

/** How a phase ended at the receiver: the answer messages it took and when the last came. */
interface PhaseEnd {
  pages: number;
  lastAt: number;
}

/** The lookups as one file (signed multipart upload), until the receiver has every page. */
async function filePhase(
  server: Served,
  sender: TestSender,
  lookups: TestLookup[],
  receiverPort: number,
  phase: (n: number) => Promise<PhaseEnd>,
  run: { persons: number; peakRss: () => number },
): Promise<void> {
  const form = await bulkForm(sender.senderId, {
    format: FORMAT,
    file: fileText(FORMAT, lookups),
    senderUri: `http://127.0.0.1:${receiverPort}`,
  });
  const rssBefore = rssMb(server.pid);
  const cpuBefore = cpuMs(server.pid);
  const all = phase(N);
  const start = performance.now();
  const res = await postBulk(`${server.url}/registry/search`, sender, form);
  const ackMs = performance.now() - start;
  if (res.status !== 202) throw new Error(`upload refused: ${res.status} ${JSON.stringify(res.body)}`);
  const { pages, lastAt } = await all;
  const seconds = (lastAt - start) / 1000;
  const cpuS = (cpuMs(server.pid) - cpuBefore) / 1000;
  printTable(
    `Bulk search by file: ${N} lookups (${FORMAT}, ${(form.bytes.length / 2 ** 20).toFixed(1)} MB), ` +
      `${run.persons}-person registry, pages of ${PAGE}`,
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
        "RSS idle → peak": `${fmt(rssBefore)} → ${fmt(run.peakRss())} MB`,
        "load avg": loadAverage(),
      },
    ],
  );
}

/**
 * The lookups as inline async searches of INLINE_ITEMS items each (signed before the clock starts), sent over
 * INLINE_CONCURRENCY connections, until the receiver has every answer item.
 */
async function inlinePhase(
  server: Served,
  sender: TestSender,
  lookups: TestLookup[],
  receiverPort: number,
  phase: (n: number) => Promise<PhaseEnd>,
) {
  const senderUri = `http://127.0.0.1:${receiverPort}`;
  const bodies: string[] = [];
  for (let at = 0; at < lookups.length; at += INLINE_ITEMS) {
    const chunk = lookups.slice(at, at + INLINE_ITEMS);
    bodies.push(JSON.stringify(sender.sign(requestEnvelope(sender.senderId, {
      transaction_id: `inline-${at}`,
      search_request: chunk.map((l) => ({
        reference_id: l.ref,
        timestamp: new Date().toISOString(),
        search_criteria: { query_type: "idtype-value", query: { type: l.type, value: l.value } },
      })),
    }, { totalCount: chunk.length, header: { sender_uri: senderUri } }))));
  }
  const headers = { "content-type": "application/json", ...sender.headers() };
  const all = phase(lookups.length);
  const cpuBefore = cpuMs(server.pid);
  const benchBefore = cpuMs(Deno.pid);
  const start = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: INLINE_CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const res = await fetch(`${server.url}/registry/search`, {
        method: "POST",
        headers,
        body: bodies[next++],
      });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`inline search refused: ${res.status}`);
    }
  }));
  await all;
  const seconds = (performance.now() - start) / 1000;
  return {
    lookups: lookups.length,
    requests: bodies.length,
    seconds,
    cpuS: (cpuMs(server.pid) - cpuBefore) / 1000,
    benchCpuS: (cpuMs(Deno.pid) - benchBefore) / 1000,
  };
}

/** The live persons of the data dir's social registry. */
function personCount(dataDir: string): number {
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    return Number(
      (db.prepare("SELECT count(*) AS n FROM registrants WHERE record_type = 'person' AND deleted_at IS NULL")
        .get() as { n: number }).n,
    );
  } finally {
    db.close();
  }
}

if (import.meta.main) await main();
