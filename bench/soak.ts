/**
 * Soak (issue 7 item 3): mixed traffic against the real server for a while — signed sync searches, async
 * searches answered to a loopback callback receiver, subscriptions, registry updates through the admin API —
 * sampling the server's RSS. Reports RSS after warm-up vs at the end (target: growth < 10%), error responses
 * (target 0), and whether every async transaction reached callback_sent and every notification was sent
 * (read from the server's SQLite file after the run, and matched against what the receiver got).
 *
 *   deno run -A bench/soak.ts                  # 10 minutes
 *   BENCH_QUICK=1 deno run -A bench/soak.ts    # 60 s
 * Env: BENCH_SOAK_SECONDS, BENCH_SOAK_PERSONS (default 10,000), BENCH_SOAK_SYNC (concurrent sync loops, 4).
 */
import { openDatabase } from "../src/db/sqlite.ts";
import { createServerSender, type TestSender } from "../tests/helpers/auth.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";
import {
  fmt,
  loadAverage,
  printTable,
  rssMb,
  sampleUins,
  searchBody,
  seededDataDir,
  startRealServer,
} from "./_lib.ts";

const quick = Deno.env.get("BENCH_QUICK") === "1";
const SECONDS = Number(Deno.env.get("BENCH_SOAK_SECONDS") ?? (quick ? 60 : 600));
const PERSONS = Number(Deno.env.get("BENCH_SOAK_PERSONS") ?? (quick ? 2000 : 10_000));
const SYNC_LOOPS = Number(Deno.env.get("BENCH_SOAK_SYNC") ?? 4);
const WARMUP_S = Math.max(15, Math.round(SECONDS * 0.25));
const SUBSCRIBE_EVERY_S = quick ? 15 : 60;
const ADMIN = `soak-admin-${crypto.randomUUID()}`;

// The loopback receiver: callbacks by transaction_id, notifications by id.
const callbacks = new Set<string>();
const notifications = new Set<string>();
const rx = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const text = await req.text();
  const nid = req.headers.get("x-dci-notification-id");
  if (nid) notifications.add(nid);
  else if (new URL(req.url).pathname.endsWith("/on-search")) {
    try {
      callbacks.add(JSON.parse(text).message.transaction_id);
    } catch { /* counted as missing later */ }
  }
  return Response.json({ message: { ack_status: "ACK" } });
});
const rxUrl = `http://127.0.0.1:${rx.addr.port}`;

const counts = { sync: 0, async: 0, subscribe: 0, update: 0 };
const errors: Record<string, number> = {};
function fail(kind: string, status: number, body: unknown): void {
  const key = `${kind} ${status}`;
  if (!errors[key]) console.error(`soak: ${key}: ${JSON.stringify(body).slice(0, 300)}`);
  errors[key] = (errors[key] ?? 0) + 1;
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text };
}

function signed(sender: TestSender, message: Record<string, unknown>, action: string, items: number): string {
  return JSON.stringify(sender.sign(requestEnvelope(sender.senderId, message, {
    action,
    totalCount: items,
    header: { sender_uri: rxUrl },
  })));
}

const dataDir = await seededDataDir(PERSONS);
const server = await startRealServer(dataDir, {
  DCI_WORKER: "true",
  DCI_OUTBOUND_ALLOW: "127.0.0.1",
  DCI_ADMIN_TOKEN: ADMIN,
  DCI_RATE_LIMIT_MINUTE: "10000000",
  DCI_RATE_LIMIT_DAY: "1000000000",
  DCI_CALLBACK_RETRY_DELAYS_MS: "200,400,800",
  DCI_SWEEP_INTERVAL_SECONDS: "5",
});
const rss: Array<{ t: number; mb: number }> = [];
try {
  const sender = await createServerSender({ url: server.url, dataDir }, {
    limit_minute: 10_000_000,
    limit_day: 1_000_000_000,
    auto_approve_subscriptions: true,
  });
  const uins = sampleUins(dataDir, 2000);
  const auth = sender.headers();
  const adminHeaders = { authorization: `Bearer ${ADMIN}` };
  const start = Date.now();
  const end = start + SECONDS * 1000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let n = 0;

  const syncLoop = async () => {
    while (Date.now() < end) {
      const r = await post(
        `${server.url}/registry/sync/search`,
        searchBody(sender, uins[n++ % uins.length], n, Date.now()),
        auth,
      );
      if (r.status === 200) counts.sync++;
      else fail("sync", r.status, r.text);
    }
  };
  const asyncLoop = async () => {
    while (Date.now() < end) {
      const txn = `soak-async-${n++}`;
      const message = {
        transaction_id: txn,
        search_request: [{
          reference_id: `${txn}-r`,
          timestamp: new Date().toISOString(),
          search_criteria: {
            query_type: "idtype-value",
            query: { type: "UIN", value: uins[n % uins.length] },
          },
        }],
      };
      const r = await post(`${server.url}/registry/search`, signed(sender, message, "search", 1), auth);
      if (r.status === 202) counts.async++;
      else fail("async search", r.status, r.text);
      await sleep(100);
    }
  };
  const updateLoop = async () => {
    // A small pool of persons: after the first round every PUT is an update event (notified).
    const pool = quick ? 20 : 50;
    for (let k = 0; Date.now() < end; k++) {
      const id = `soak-${k % pool}`;
      const res = await fetch(`${server.url}/admin/v1/registrants/${id}`, {
        method: "PUT",
        headers: { ...adminHeaders, "content-type": "application/json" },
        body: JSON.stringify({
          id,
          record_type: "person",
          identifiers: [{ type: "UIN", value: `SOAK-${k % pool}` }],
          name: { given_name: `Soak ${k}`, surname: "Tester" },
          sex: k % 2 ? "male" : "female",
          birth_date: "1990-01-01",
          address: [{ locality: "Springfield", region_code: `R${k % 5}`, country_code: "XX" }],
        }),
      });
      const text = await res.text();
      if (res.status === 200) counts.update++;
      else fail("update", res.status, text);
      await sleep(500);
    }
  };
  const subscribeLoop = async () => {
    for (let k = 0; Date.now() < end - 5000; k++) {
      const txn = `soak-sub-${k}`;
      const message = {
        transaction_id: txn,
        subscribe_request: [{
          reference_id: `${txn}-r`,
          timestamp: new Date().toISOString(),
          subscribe_criteria: k % 2 ? { reg_event_type: "update", notify_record_type: "person" } : {
            reg_event_type: "update",
            notify_record_type: "person",
            filter_type: "predicate",
            filter: [{
              seq_num: 1,
              expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
            }],
          },
        }],
      };
      const r = await post(`${server.url}/registry/subscribe`, signed(sender, message, "subscribe", 1), auth);
      if (r.status === 202) counts.subscribe++;
      else fail("subscribe", r.status, r.text);
      await sleep(SUBSCRIBE_EVERY_S * 1000);
    }
  };
  const sampler = async () => {
    while (Date.now() < end) {
      rss.push({ t: (Date.now() - start) / 1000, mb: rssMb(server.pid) });
      await sleep(5000);
    }
    rss.push({ t: (Date.now() - start) / 1000, mb: rssMb(server.pid) });
  };
  await Promise.all([
    ...Array.from({ length: SYNC_LOOPS }, syncLoop),
    asyncLoop(),
    updateLoop(),
    subscribeLoop(),
    sampler(),
  ]);

  // Let the worker finish: every transaction callback_sent, no notification pending (up to 120 s).
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  let txns: Record<string, number> = {};
  let notes: Record<string, number> = {};
  try {
    const until = Date.now() + 120_000;
    for (;;) {
      txns = Object.fromEntries(
        db.prepare("SELECT action || ':' || state AS k, COUNT(*) AS n FROM transactions GROUP BY 1").all()
          .map((r) => [String(r.k), Number(r.n)]),
      );
      notes = Object.fromEntries(
        db.prepare("SELECT status AS k, COUNT(*) AS n FROM notifications GROUP BY 1").all()
          .map((r) => [String(r.k), Number(r.n)]),
      );
      const open = Object.entries(txns).some(([k, v]) => v > 0 && !k.endsWith(":callback_sent")) ||
        (notes.pending ?? 0) > 0;
      if (!open || Date.now() > until) break;
      await sleep(1000);
    }
  } finally {
    db.close();
  }
  const after = rss.find((s) => s.t >= WARMUP_S) ?? rss[0];
  const last = rss[rss.length - 1];
  const peak = Math.max(...rss.map((s) => s.mb));
  const growth = (last.mb - after.mb) / after.mb * 100;
  const asyncSent = txns["search:callback_sent"] ?? 0;
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  const sentNotes = (notes.sent ?? 0) + (notes.received ?? 0);
  const totalNotes = Object.values(notes).reduce((a, b) => a + b, 0);
  printTable(
    `soak: ${SECONDS} s mixed traffic, ${PERSONS} persons, warm-up ${WARMUP_S} s, loadavg ${loadAverage()}`,
    [
      {
        measure: "requests: sync / async search / subscribe / admin updates",
        value: `${counts.sync} / ${counts.async} / ${counts.subscribe} / ${counts.update}`,
      },
      {
        measure: "error responses (target 0)",
        value: `${errorCount} ${errorCount ? JSON.stringify(errors) : ""}`,
      },
      {
        measure: `RSS after warm-up (t=${fmt(after.t)} s) / end (MB)`,
        value: `${fmt(after.mb, 1)} / ${fmt(last.mb, 1)} (peak ${fmt(peak, 1)})`,
      },
      { measure: "RSS growth after warm-up (target < 10%)", value: `${fmt(growth, 1)}%` },
      { measure: "transactions by action:state", value: JSON.stringify(txns) },
      {
        measure: "async searches accepted / callback_sent / callbacks received",
        value: `${counts.async} / ${asyncSent} / ${callbacks.size}`,
      },
      {
        measure: "notifications sent / logged / received by receiver",
        value: `${sentNotes} / ${totalNotes} / ${notifications.size}`,
      },
    ],
  );
  const ok = errorCount === 0 && growth < 10 && asyncSent === counts.async &&
    callbacks.size >= counts.async &&
    sentNotes === totalNotes && notifications.size >= totalNotes;
  console.log(
    `  verdict: ${ok ? "PASS" : "FAIL"}; RSS samples (s:MB): ${
      rss.map((s) => `${fmt(s.t)}:${fmt(s.mb)}`).join(" ")
    }`,
  );
  if (!ok) Deno.exitCode = 1;
} finally {
  await server.stop();
  await rx.shutdown();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
