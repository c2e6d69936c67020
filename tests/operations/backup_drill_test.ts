/**
 * The restore drill: a real server under a light load of signed sync searches and async transactions, a
 * backup taken while it serves, the backup restored into a fresh data dir (no KV file: only SQLite travels),
 * and a server started on it. The same searches answer the same, and every transaction ACKed before the
 * backup ends delivered by callback, those the first server had not delivered included.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { randomBytes } from "node:crypto";
import { postJson, runCliProcess, type ServerProcess } from "../helpers/server.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import type { TestSender } from "../helpers/auth.ts";
import { adminGet, createServerSender, send, startWorkerServer } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { type Json, searchMessage, verifyWithJwks } from "../transactions/support.ts";

/** Search criteria whose answers must survive the restore (demo registry records). */
const CRITERIA: Record<string, unknown>[] = [
  { query_type: "idtype-value", query: { type: "UIN", value: "TEST-001" } },
  {
    query_type: "predicate",
    query: [{ expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" } }],
    sort: [{ attribute_name: "birth_date", sort_order: "asc" }],
    pagination: { page_size: 5, page_number: 1 },
  },
  {
    query_type: "predicate",
    query: [{ expression1: { attribute_name: "region", operator: "eq", attribute_value: "central_region" } }],
    sort: [{ attribute_name: "birth_date", sort_order: "desc" }],
    pagination: { page_size: 7, page_number: 2 },
  },
];

/** Drops the fields that name the moment of the answer, keeping what the registry said. */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).filter(([k]) => k !== "timestamp").map(([k, v]) => [k, withoutTimes(v)]),
  );
}

/** One signed sync search of every CRITERIA item; returns the verified search_response without times. */
async function syncAnswers(server: ServerProcess, sender: TestSender): Promise<unknown> {
  const env = sender.sign(requestEnvelope(sender.senderId, {
    transaction_id: "drill",
    search_request: CRITERIA.map((c, i) => ({
      reference_id: `r${i}`,
      timestamp: new Date().toISOString(),
      search_criteria: c,
    })),
  }, { totalCount: CRITERIA.length }));
  const res = await postJson(`${server.url}/registry/sync/search`, env, sender.headers());
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
  assert.ok(verifyWithJwks(res.body, jwks, Date.now()), "the answer verifies against the server's JWKS");
  const items = (res.body as Json).message.search_response as Json[];
  assert.ok(items.every((i) => i.status === "succ"), JSON.stringify(items));
  assert.ok(items.every((i) => i.data.reg_records.length > 0), "each search finds records");
  return withoutTimes(items);
}

async function until(pred: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`not reached within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Correlation ids of the transactions a backup file holds that had not had their callback delivered. */
function undeliveredIn(file: string): Set<string> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const rows = db.prepare(
      "SELECT correlation_id FROM transactions WHERE action = 'search' AND state <> 'callback_sent'",
    ).all() as Array<{ correlation_id: string }>;
    return new Set(rows.map((r) => r.correlation_id));
  } finally {
    db.close();
  }
}

Deno.test("restore drill: a backup taken under load restores into a fresh dir that answers the same searches and delivers every ACKed transaction", async () => {
  const kek = randomBytes(32).toString("base64");
  const receiver = startReceiver();
  const first = await startWorkerServer({
    DCI_KEY_ENCRYPTION_KEY: kek,
    DCI_SEED_DEMO: "true",
    DCI_DEMO_SIZE: "120",
  });
  const work = await Deno.makeTempDir({ prefix: "dci-drill-" });
  let second: ServerProcess | undefined;
  let openGate = () => {};
  let stop = false;
  let clients: Promise<void>[] = [];
  try {
    await first.waitForLog((l) => l.msg === "demo registry seeded");
    const alice = await createServerSender(first);
    const answersBefore = await syncAnswers(first, alice);

    // Light load: signed sync searches and async searches called back to the loopback receiver.
    const acked: string[] = [];
    let syncOk = 0;
    let n = 0;
    const client = async () => {
      while (!stop) {
        const i = n++;
        if (i % 4 === 0) {
          await syncAnswers(first, alice);
          syncOk++;
          continue;
        }
        const res = await send(first, alice, "/registry/search", searchMessage(`drill-${i}`), receiver.url);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        acked.push((res.body.message as Record<string, string>).correlation_id);
      }
    };
    clients = Array.from({ length: 4 }, client);
    // Callbacks after the first few are held at the receiver, so the backup catches ACKed work undelivered.
    await until(() => acked.length >= 20, "20 ACKs");
    receiver.gate = new Promise<void>((r) => openGate = r);
    await until(() => acked.length >= 60, "60 ACKs");

    const ackedBefore = [...acked];
    const file = `${work}/drill.sqlite`;
    const made = await runCliProcess(["backup", file], { DCI_DATA_DIR: first.dataDir });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /backup written: .*drill\.sqlite/);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "the backup is owner-only");

    // A restore into the data dir of the running server is refused, and the server keeps serving.
    const refused = await runCliProcess(["restore", file, "--replace"], {
      DCI_DATA_DIR: first.dataDir,
      DCI_KEY_ENCRYPTION_KEY: kek,
    });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /has the data dir .* open \(or a restore does\)/);
    const syncBeforeStop = syncOk;
    await until(() => syncOk > syncBeforeStop, "a sync search answered after the refused restore");

    stop = true;
    await Promise.all(clients);
    await first.stop("SIGKILL");
    openGate();
    await until(() => receiver.hits === receiver.received.length, "held callbacks answered");
    const mark = receiver.received.length;

    const undelivered = undeliveredIn(file);
    assert.ok(
      ackedBefore.some((c) => undelivered.has(c)),
      "the backup holds ACKed transactions whose callback was not out yet",
    );

    const fresh = `${work}/restored`;
    const withoutKek = await runCliProcess(["restore", file], { DCI_DATA_DIR: fresh });
    assert.equal(withoutKek.code, 1);
    assert.match(withoutKek.stderr, /encrypted with the key-encryption key [0-9a-f]{16}/);
    const restored = await runCliProcess(["restore", file], {
      DCI_DATA_DIR: fresh,
      DCI_KEY_ENCRYPTION_KEY: kek,
    });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /restored .* into /);
    const files = [...Deno.readDirSync(fresh)].map((e) => e.name);
    assert.ok(!files.some((f) => f.startsWith("kv.sqlite3")), `no KV file travels: ${files}`);

    second = await startWorkerServer({ DCI_KEY_ENCRYPTION_KEY: kek, DCI_SEED_DEMO: "false" }, fresh);
    // The sender's token from the first server still verifies: the server key came back with the backup.
    assert.deepEqual(await syncAnswers(second, alice), answersBefore);

    const delivered = () =>
      new Set(
        receiver.received.filter((r) => r.status === 200).map((r) =>
          (r.body.message as Json)?.correlation_id
        ),
      );
    await receiver.waitFor(() => {
      const got = delivered();
      return ackedBefore.every((c) => got.has(c));
    }, 60_000);
    const bySecond = new Set(
      receiver.received.slice(mark).map((r) => (r.body.message as Json)?.correlation_id),
    );
    for (const c of ackedBefore) {
      const t = await adminGet(second, `/transactions/${c}`);
      assert.equal(t.state, "callback_sent", `${c} ends delivered`);
      if (undelivered.has(c)) {
        assert.ok(bySecond.has(c), `${c}, undelivered at backup time, was called back after the restore`);
      }
    }
    console.log(
      `drill: ${ackedBefore.length} ACKed before the backup, ${undelivered.size} of the backup's undelivered, ` +
        `${acked.length - ackedBefore.length} ACKed after it (not in the backup), ${syncOk} sync searches`,
    );
  } finally {
    stop = true;
    await Promise.allSettled(clients);
    openGate();
    await first.stop("SIGKILL");
    await second?.stop();
    await receiver.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
