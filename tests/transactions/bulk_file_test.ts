/**
 * Bulk search by file end to end: a real server on loopback, signed multipart uploads (the spec's FileInfo), and a
 * loopback receiver that checks every on-search page against the registry's spec yaml.
 */
import assert from "node:assert/strict";
import { ADMIN_TOKEN, adminGet, createServerSender, startWorkerServer, waitForState } from "./e2e_support.ts";
import { type Received, startReceiver } from "./receiver.ts";
import { bulkForm, demoUins, fileText, postBulk, searchTxnStatus, type TestLookup } from "./bulk_support.ts";
import { verifyWithJwks } from "./support.ts";
import { AnswerChecker } from "../operations/openapi_support.ts";
import type { TestSender } from "../helpers/auth.ts";
import type { SpecRegistry } from "../helpers/spec_validator.ts";
import { registryProfiles } from "../../src/registries/index.ts";
import { dataDirDatabaseUrl, dataDirSql, runCliProcess, untilInFlight } from "../helpers/server.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

type Json = Record<string, unknown>;

const DEMO = 300;
const PAGE = 25;

function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DCI_SEED_DEMO: "true",
    DCI_DEMO_SIZE: String(DEMO),
    DCI_BULK_PAGE_SIZE: String(PAGE),
    DCI_BULK_MAX_ITEMS: "5000",
    ...extra,
  };
}

/** `n` lookups: every `unknownEvery`-th one a UIN nobody has. */
function lookups(n: number, prefix: string, unknownEvery = 7): TestLookup[] {
  const uins = demoUins(DEMO);
  return Array.from({ length: n }, (_, i) => ({
    ref: `${prefix}-${i + 1}`,
    type: i % 2 ? "UIN" : "urn:dci:id:uin",
    value: i % unknownEvery === 3 ? `NOBODY-${i}` : uins[i % uins.length],
  }));
}

/** The on-search pages the receiver accepted for transaction_id `txn`, in arrival order. */
function pagesOf(received: Received[], txn: string): Received[] {
  return received.filter((r) => r.status === 200 && (r.body.message as Json)?.transaction_id === txn);
}

/** Each lookup's answer across pages (asserting none is answered twice). */
function answersOf(pages: Received[]): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const p of pages) {
    for (const item of (p.body.message as Json).search_response as Json[]) {
      const ref = String(item.reference_id);
      assert.ok(!out.has(ref), `${ref} answered once`);
      out.set(ref, item);
    }
  }
  return out;
}

function checkAnswers(answers: Map<string, Json>, sent: TestLookup[]): void {
  assert.equal(answers.size, sent.length);
  for (const l of sent) {
    const a = answers.get(l.ref)!;
    assert.equal(a.status, "succ", l.ref);
    const records = (a.data as Json).reg_records as Json[];
    if (l.value.startsWith("NOBODY")) assert.equal(records.length, 0, `${l.ref} is unknown`);
    else {
      assert.equal(records.length, 1, `${l.ref} finds its person`);
      assert.ok(JSON.stringify(records[0]).includes(l.value), `${l.ref}'s record holds UIN ${l.value}`);
    }
  }
}

/** Uploads `sent` as a signed CSV file with transaction_id `txn`; returns the ACK's correlation_id. */
async function uploadCsv(
  server: { url: string },
  sender: TestSender,
  sent: TestLookup[],
  txn: string,
  senderUri: string,
): Promise<string> {
  const form = await bulkForm(sender.senderId, {
    format: "csv",
    file: fileText("csv", sent),
    senderUri,
    transactionId: txn,
  });
  const res = await postBulk(`${server.url}/registry/search`, sender, form);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return String((res.body.message as Json).correlation_id);
}

/** An operator's retry of a failed transaction through the admin API, then its state once every page is out. */
async function retried(server: { url: string }, correlation: string): Promise<Json> {
  const retry = await fetch(`${server.url}/admin/v1/transactions/${correlation}/retry`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(retry.status, 202, await retry.text());
  return await waitForState(server, correlation, "callback_sent", 30_000);
}

/** The bulk spools a server still keeps: files in its data dir's bulk/, or on PostgreSQL spools of chunk rows. */
async function spoolsLeft(server: { dataDir: string }): Promise<string[]> {
  if (await dataDirDatabaseUrl(server.dataDir)) {
    return (await dataDirSql(server.dataDir, "SELECT DISTINCT spool FROM bulk_spool_chunks")).map((r) =>
      String(r.spool)
    );
  }
  return [...Deno.readDirSync(`${server.dataDir}/bulk`)].map((e) => e.name);
}

/**
 * Waits until `n` uploads held before their last bytes are in the server: in flight, and on SQLite each with its
 * spool file begun beside the `spooled` there before (the bulk directory is made with the first) (PostgreSQL writes a small upload's chunk only at its end, so
 * there the in-flight count and a grace for its authentication are all a test can see). Throws after 20 s.
 */
async function untilArriving(
  server: { url: string; dataDir: string },
  n: number,
  spooled: number,
): Promise<void> {
  await untilInFlight(server.url, n);
  if (TEST_BACKEND === "postgres") return await new Promise((r) => setTimeout(r, 500));
  for (const end = Date.now() + 20_000; (await spoolsLeft(server).catch(() => [])).length < spooled + n;) {
    if (Date.now() > end) throw new Error(`not ${n} spools begun within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("bulk search: a signed CSV and a signed JSON file are answered page by page, each lookup once, signed and spec-valid", async () => {
  const receiver = startReceiver();
  const server = await startWorkerServer(serverEnv());
  try {
    const alice = await createServerSender(server);
    for (const format of ["csv", "json"] as const) {
      const sent = lookups(format === "csv" ? 110 : 60, format);
      const txn = `bulk-${format}-1`;
      const form = await bulkForm(alice.senderId, {
        format,
        file: fileText(format, sent),
        senderUri: receiver.url,
        transactionId: txn,
      });
      // The registry's own path, and the default registry's /dci_api/v1 one (/registry/search: bulkForm's tests).
      const path = format === "csv" ? "/dci_api/v1/social/registry/search" : "/dci_api/v1/registry/search";
      const res = await postBulk(`${server.url}${path}`, alice, form);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const ack = res.body.message as Json;
      assert.equal(ack.ack_status, "ACK");
      const pageCount = Math.ceil(sent.length / PAGE);
      const done = await waitForState(server, String(ack.correlation_id), "callback_sent", 30_000);
      const pages = pagesOf(receiver.received, txn);
      assert.equal(pages.length, pageCount);
      const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
      // In order, each with its own message_id, the file's total and the running count.
      let completed = 0;
      pages.forEach((p, i) => {
        const h = p.body.header as Json;
        assert.equal(h.action, "on-search");
        assert.equal(h.status, "succ");
        assert.equal(h.total_count, sent.length);
        completed += ((p.body.message as Json).search_response as unknown[]).length;
        assert.equal(h.completed_count, completed, `page ${i + 1}'s completed_count`);
        assert.ok(verifyWithJwks(p.body, jwks, Date.now()), `page ${i + 1} is signed by the server's key`);
        assert.equal(p.path, "/registry/on-search");
      });
      assert.equal(new Set(pages.map((p) => (p.body.header as Json).message_id)).size, pageCount);
      checkAnswers(answersOf(pages), sent);
      assert.deepEqual(done.bulk, {
        file_name: `lookups.${format}`,
        file_format: format,
        page_size: PAGE,
        items_total: sent.length,
        items_done: sent.length,
        pages_total: pageCount,
        pages_delivered: pageCount,
        pages_failed: 0,
        pages_undelivered: [],
      });
      assert.equal(done.status, "succ");
      assert.equal(done.completed_count, sent.length);
    }
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: a reference_id that repeats in the file is answered rjct.reference_id.duplicate, as inline, and the rest looked up", async () => {
  const receiver = startReceiver();
  const server = await startWorkerServer(serverEnv());
  try {
    const alice = await createServerSender(server);
    const [u1, u2, u3] = demoUins(3);
    // "d-1" twice; a row without reference_id takes its position ("4"), which the next row names again.
    const csv =
      `reference_id,type,value\nd-1,UIN,${u1}\nd-2,UIN,${u2}\nd-1,UIN,${u3}\n,UIN,${u3}\n4,UIN,${u1}\n`;
    const form = await bulkForm(alice.senderId, {
      format: "csv",
      file: csv,
      senderUri: receiver.url,
      transactionId: "bulk-dup",
    });
    const res = await postBulk(`${server.url}/dci_api/v1/social/registry/search`, alice, form);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await waitForState(
      server,
      String((res.body.message as Json).correlation_id),
      "callback_sent",
      30_000,
    );
    assert.equal(done.status, "succ");
    const items = pagesOf(receiver.received, "bulk-dup").flatMap((p) =>
      (p.body.message as Json).search_response as Json[]
    );
    assert.deepEqual(
      items.map((i) => [i.reference_id, i.status, i.status_reason_code ?? null]),
      [
        ["d-1", "succ", null],
        ["d-2", "succ", null],
        ["d-1", "rjct", "rjct.reference_id.duplicate"],
        ["4", "succ", null],
        ["4", "rjct", "rjct.reference_id.duplicate"],
      ],
    );
    // The first of each is the lookup as sent (its own UIN), the repeat looked nothing up.
    assert.ok(JSON.stringify(items[0].data).includes(u1) && !JSON.stringify(items[0].data).includes(u3));
    assert.ok(JSON.stringify(items[3].data).includes(u3));
    assert.equal(items[2].data, undefined);
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: a page the receiver refuses is retried on its own; the others are delivered once", async () => {
  const receiver = startReceiver();
  let refusals = 0;
  // The third page is refused twice, then taken.
  receiver.respond = (r) => {
    const items = (r.body.message as Json)?.search_response as Json[] | undefined;
    if (items?.[0]?.reference_id === `retry-${2 * PAGE + 1}` && refusals < 2) {
      refusals++;
      return 503;
    }
    return 200;
  };
  const server = await startWorkerServer(serverEnv({ DCI_CALLBACK_RETRY_DELAYS_MS: "50,50,50" }));
  try {
    const alice = await createServerSender(server);
    const sent = lookups(5 * PAGE, "retry");
    const correlation = await uploadCsv(server, alice, sent, "bulk-retry", receiver.url);
    await waitForState(server, correlation, "callback_sent", 30_000);
    const all = receiver.received.filter((r) => (r.body.message as Json)?.transaction_id === "bulk-retry");
    // 5 pages + 2 refused tries of page 3, which kept its message_id.
    assert.equal(all.length, 7);
    assert.equal(refusals, 2);
    const third = all.filter((r) =>
      ((r.body.message as Json).search_response as Json[])[0].reference_id === `retry-${2 * PAGE + 1}`
    );
    assert.equal(third.length, 3);
    assert.equal(new Set(third.map((r) => (r.body.header as Json).message_id)).size, 1);
    const pages = pagesOf(receiver.received, "bulk-retry");
    assert.deepEqual(
      pages.map((p) => ((p.body.message as Json).search_response as Json[])[0].reference_id),
      [1, 2, 3, 4, 5].map((k) => `retry-${(k - 1) * PAGE + 1}`),
    );
    checkAnswers(answersOf(pages), sent);
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: a sender disabled mid-run gets no further page until enabled; then the rest, each once", async () => {
  const receiver = startReceiver({ delayMs: 150 });
  const server = await startWorkerServer(serverEnv());
  const admin = (path: string) =>
    fetch(`${server.url}/admin/v1${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: "{}",
    }).then(async (r) => {
      const text = await r.text();
      assert.equal(r.status, 200, `${path}: ${text}`);
    });
  try {
    const alice = await createServerSender(server);
    const sent = lookups(6 * PAGE, "held");
    const correlation = await uploadCsv(server, alice, sent, "bulk-held", receiver.url);
    await receiver.waitFor((all) => pagesOf(all, "bulk-held").length >= 1);
    await admin(`/senders/${alice.senderId}/disable`);
    // A page already on the wire may still arrive; none after the run has stopped for the hold.
    await server.waitForLog((l) => l.msg === "bulk search held" && l.correlation_id === correlation, 30_000);
    const atDisable = pagesOf(receiver.received, "bulk-held").length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pagesOf(receiver.received, "bulk-held").length, atDisable, "no page while disabled");
    assert.ok(atDisable < 6, `${atDisable} pages before the hold`);
    assert.equal(
      (await adminGet(server, `/transactions/${correlation}`)).state,
      "processing",
      "held, not failed",
    );
    await admin(`/senders/${alice.senderId}/enable`);
    const done = await waitForState(server, correlation, "callback_sent", 30_000);
    const pages = pagesOf(receiver.received, "bulk-held");
    assert.deepEqual(
      pages.map((p) => ((p.body.message as Json).search_response as Json[])[0].reference_id),
      [1, 2, 3, 4, 5, 6].map((k) => `held-${(k - 1) * PAGE + 1}`),
    );
    checkAnswers(answersOf(pages), sent);
    assert.equal((done.bulk as Json).pages_delivered, 6);
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: runs whose page waits for a retry leave their slots to another search", async () => {
  const receiver = startReceiver();
  const firstPage = (txn: string) => (r: Received) =>
    (r.body.message as Json)?.transaction_id === txn &&
    ((r.body.message as Json).search_response as Json[])?.[0]?.reference_id === `${txn}-1`;
  const refused = new Set<string>();
  // The first page of each stuck search is refused once: its retry is due 12 s later (more than the runner
  // sits out holding a slot), and the worker runs two bulk searches at a time.
  receiver.respond = (r) => {
    for (const txn of ["stuck-a", "stuck-b"]) {
      if (firstPage(txn)(r) && !refused.has(txn)) {
        refused.add(txn);
        return 503;
      }
    }
    return 200;
  };
  const server = await startWorkerServer(serverEnv({ DCI_CALLBACK_RETRY_DELAYS_MS: "12000" }));
  try {
    const alice = await createServerSender(server);
    const stuck = [];
    for (const txn of ["stuck-a", "stuck-b"]) {
      stuck.push(await uploadCsv(server, alice, lookups(2 * PAGE, txn), txn, receiver.url));
    }
    await receiver.waitFor(() => refused.size === 2);
    const free = await uploadCsv(server, alice, lookups(2 * PAGE, "free"), "free", receiver.url);
    await waitForState(server, free, "callback_sent", 30_000);
    for (const txn of ["stuck-a", "stuck-b"]) {
      assert.equal(receiver.received.filter(firstPage(txn)).length, 1, `${txn}'s first page not retried yet`);
    }
    for (const [i, txn] of ["stuck-a", "stuck-b"].entries()) {
      const done = await waitForState(server, stuck[i], "callback_sent", 30_000);
      assert.equal((done.bulk as Json).pages_delivered, 2);
      assert.equal(
        receiver.received.filter(firstPage(txn)).length,
        2,
        `${txn}'s first page: refused, then taken`,
      );
      checkAnswers(answersOf(pagesOf(receiver.received, txn)), lookups(2 * PAGE, txn));
    }
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: unsigned, malformed, over-cap and digest-mismatched uploads are refused and nothing is stored", async () => {
  const receiver = startReceiver();
  const server = await startWorkerServer(serverEnv({ DCI_BULK_MAX_ITEMS: "50" }));
  try {
    // One request a minute per refused case below: each counts against the sender, as a JSON request's refusal does.
    const alice = await createServerSender(server, { limit_minute: 10 });
    const url = `${server.url}/registry/search`;
    const good = fileText("csv", lookups(10, "ok"));
    const form = (file: string, format: "csv" | "json" = "csv", header?: Json) =>
      bulkForm(alice.senderId, { format, file, senderUri: receiver.url, header });
    /** The good file signed, then sent with `from` replaced by `to`. */
    const tampered = (from: string, to: string) =>
      form(good).then((f) => {
        const text = new TextDecoder().decode(f.bytes).replace(from, to);
        return postBulk(url, alice, f, { body: new TextEncoder().encode(text) });
      });
    /** The good file with `extra` in its header part. */
    const header = (extra: Json) => form(good, "csv", extra).then((f) => postBulk(url, alice, f));
    let deep: unknown = "x";
    for (let i = 0; i < 70; i++) deep = [deep];
    const cases: Array<[string, () => Promise<{ status: number; body: Json }>, number, string, RegExp?]> = [
      [
        "unsigned",
        () => form(good).then((f) => postBulk(url, alice, f, { sign: false })),
        401,
        "err.signature.missing",
      ],
      [
        "over the cap",
        () => form(fileText("csv", lookups(51, "big"))).then((f) => postBulk(url, alice, f)),
        400,
        // A header-level rejection on an async endpoint is the ERR Response naming the rjct code (dci-protocol.md).
        "err.request.bad",
      ],
      [
        "no value column",
        () => form("reference_id,type\nr1,UIN\n").then((f) => postBulk(url, alice, f)),
        400,
        "err.request.bad",
      ],
      [
        "broken JSON",
        () => form('[{"type":"UIN","value":"1"},', "json").then((f) => postBulk(url, alice, f)),
        400,
        "err.request.bad",
      ],
      [
        "not an array",
        () => form('{"type":"UIN","value":"1"}', "json").then((f) => postBulk(url, alice, f)),
        400,
        "err.request.bad",
      ],
      // One byte of the file changed after signing: the stream's digest no longer matches.
      ["body not the signed one", () => tampered("ok-2,", "ok-X,"), 401, "err.signature.invalid"],
      // The changed byte also takes the value column away: the signature's failure is the answer.
      [
        "body not the signed one, and malformed",
        () => tampered("type,value", "type,valuX"),
        401,
        "err.signature.invalid",
      ],
      // The header part is held to a JSON request's limits (it is stored with the transaction).
      [
        "a NUL in the header part",
        () => header({ note: "a\u0000b" }),
        400,
        "err.request.bad",
        /^Invalid header part: header\.note holds a NUL character \(\\u0000\), which no field may$/,
      ],
      [
        "a string too long in the header part",
        () => header({ note: "x".repeat(8193) }),
        400,
        "err.request.bad",
        /^Invalid header part: header\.note is longer than 8192 characters$/,
      ],
      [
        "the header part nested too deep",
        () => header({ note: deep }),
        400,
        "err.request.bad",
        /^Invalid header part: JSON nested deeper than 64 levels$/,
      ],
    ];
    for (const [name, request, status, code, text] of cases) {
      const res = await request();
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      const message = res.body.message as Json;
      assert.equal(message.ack_status, "ERR", name);
      assert.equal((message.error as Json).code, code, `${name}: ${JSON.stringify(message.error)}`);
      if (text) assert.match(String((message.error as Json).message), text, name);
      if (name === "over the cap") {
        assert.match(
          String((message.error as Json).message),
          /^rjct\.total_count\.limit_exceeded: .*more than 50/,
        );
      }
      if (name.startsWith("body not the signed one")) {
        assert.match(String((message.error as Json).message), /Content-Digest/);
      }
    }
    // The ten refusals spent the sender's minute: the good file is refused 429.
    const spent = await form(good).then((f) => postBulk(url, alice, f));
    assert.equal(spent.status, 429, JSON.stringify(spent.body));
    const stored = await adminGet(server, "/transactions?limit=50");
    assert.deepEqual(stored.items, []);
    assert.deepEqual(await spoolsLeft(server), [], "no spool file is left behind");
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: txn/status answers pdng with the progress, then succ", async () => {
  const receiver = startReceiver();
  let release!: () => void;
  receiver.gate = new Promise<void>((r) => release = r);
  const server = await startWorkerServer(serverEnv());
  try {
    const alice = await createServerSender(server);
    const sent = lookups(3 * PAGE, "st");
    const form = await bulkForm(alice.senderId, {
      format: "json",
      file: fileText("json", sent),
      senderUri: receiver.url,
      transactionId: "bulk-status",
    });
    const res = await postBulk(`${server.url}/registry/search`, alice, form);
    assert.equal(res.status, 202);
    const correlation = String((res.body.message as Json).correlation_id);
    const status = () => searchTxnStatus(server, alice, "bulk-status", receiver.url);
    await receiver.waitFor(() => receiver.hits > 0);
    const pending = JSON.stringify(await status());
    assert.match(pending, /"status":"pdng"/);
    assert.match(pending, /bulk search file: 0 of 75 lookups answered and delivered/);
    release();
    await waitForState(server, correlation, "callback_sent", 30_000);
    const after = JSON.stringify(await status());
    assert.match(after, /"status":"succ"/);
    assert.match(after, /75 of 75 lookups/);
  } finally {
    release?.();
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: SIGKILL mid-run, then restart: every page is delivered at least once, a repeat only of the page in flight, with its message_id", async () => {
  const receiver = startReceiver({ delayMs: 150 });
  // On PostgreSQL a restart releases no lease (another instance may hold it): the killed server's lapses in 5 s.
  const lease: Record<string, string> = TEST_BACKEND === "postgres" ? { DCI_LEASE_SECONDS: "5" } : {};
  const first = await startWorkerServer({ ...serverEnv(), ...lease });
  let second;
  try {
    const alice = await createServerSender(first);
    const sent = lookups(20 * PAGE, "kill");
    const correlation = await uploadCsv(first, alice, sent, "bulk-kill", receiver.url);
    await receiver.waitFor((rs) => pagesOf(rs, "bulk-kill").length >= 5, 30_000);
    await first.stop("SIGKILL");
    const before = pagesOf(receiver.received, "bulk-kill").length;
    assert.ok(before < 20, "the kill comes before the last page");
    second = await startWorkerServer({ ...serverEnv(), ...lease }, first.dataDir);
    const done = await waitForState(second, correlation, "callback_sent", 60_000);
    // Requests that reached the receiver before the kill but were not answered yet also count as received.
    const pages = receiver.received.filter((r) => (r.body.message as Json)?.transaction_id === "bulk-kill");
    const byFirstRef = new Map<string, Set<unknown>>();
    for (const p of pages) {
      const ref = String(((p.body.message as Json).search_response as Json[])[0].reference_id);
      const ids = byFirstRef.get(ref) ?? new Set();
      ids.add((p.body.header as Json).message_id);
      byFirstRef.set(ref, ids);
    }
    assert.equal(byFirstRef.size, 20, "every page arrived");
    for (const [ref, ids] of byFirstRef) {
      assert.equal(ids.size, 1, `page starting ${ref} kept its message_id`);
    }
    const repeats = pages.length - 20;
    console.log(`pages before the kill ${before}, repeats after the restart ${repeats}`);
    assert.ok(repeats <= 2, `${repeats} pages repeated`);
    // Each lookup is answered (a repeated page answers its lookups again, identically).
    const unique = new Map<string, Received>();
    for (const p of pages) unique.set(String((p.body.header as Json).message_id), p);
    checkAnswers(answersOf([...unique.values()]), sent);
    assert.equal((done.bulk as Json).pages_delivered, 20);
    assert.deepEqual(await spoolsLeft(first), [], "the spool is removed at the end");
  } finally {
    await first.stop("SIGKILL").catch(() => {});
    await second?.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: a page that failed for good leaves callback_failed; an operator's retry sends only that page", async () => {
  const receiver = startReceiver();
  let refusing = true;
  receiver.respond = (r) => {
    const items = (r.body.message as Json)?.search_response as Json[] | undefined;
    return refusing && items?.[0]?.reference_id === `fail-${PAGE + 1}` ? 500 : 200;
  };
  const server = await startWorkerServer(serverEnv({ DCI_CALLBACK_RETRY_DELAYS_MS: "50,50" }));
  try {
    const alice = await createServerSender(server);
    const sent = lookups(3 * PAGE, "fail");
    const correlation = await uploadCsv(server, alice, sent, "bulk-fail", receiver.url);
    const failed = await waitForState(server, correlation, "callback_failed", 30_000);
    assert.equal((failed.bulk as Json).pages_delivered, 2);
    assert.equal((failed.bulk as Json).pages_failed, 1);
    assert.equal(failed.completed_count, 2 * PAGE);
    // Page 2 was tried three times (the first try and two retries); pages 1 and 3 once each.
    assert.equal(receiver.received.filter((r) => r.status === 500).length, 3);
    // Operators see which page failed and why: in the last_error, and page by page in the progress.
    assert.equal(failed.last_error, "page 2 could not be delivered: HTTP 500 from callback URL");
    assert.deepEqual((failed.bulk as Json).pages_undelivered, [
      { page: 2, state: "failed", attempts: 3, last_error: "HTTP 500 from callback URL" },
    ]);
    // The admin API's OpenAPI document describes the progress it answers (the BulkSearchProgress schema).
    const doc = await (await fetch(`${server.url}/dci_api/v1/openapi.json`)).json();
    const checker = new AnswerChecker(doc);
    assert.deepEqual(checker.errors("GET", `/admin/v1/transactions/${correlation}`, 200, failed), []);
    assert.notDeepEqual(
      checker.errors("GET", `/admin/v1/transactions/${correlation}`, 200, {
        ...failed,
        bulk: { ...(failed.bulk as Json), pages_failed: "one" },
      }),
      [],
      "the schema describes bulk",
    );
    const shown = await runCliProcess(["txn", "show", correlation, "--data-dir", server.dataDir]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /\n\s+pages_undelivered:\n\s+- page: +2\n\s+state: +failed\n\s+attempts: +3\n\s+last_error: +HTTP 500 from callback URL\n/,
    );
    refusing = false;
    const done = await retried(server, correlation);
    assert.equal((done.bulk as Json).pages_delivered, 3);
    assert.deepEqual([(done.bulk as Json).pages_undelivered, done.last_error], [[], null]);
    const pages = pagesOf(receiver.received, "bulk-fail");
    assert.equal(pages.length, 3, "only the failed page went out again");
    checkAnswers(answersOf(pages), sent);
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: three pages in a row failed for good stop the run with the rest unsent; txn retry resumes it", async () => {
  const receiver = startReceiver();
  let refusing = true;
  receiver.respond = () => refusing ? 500 : 200;
  const server = await startWorkerServer(serverEnv({ DCI_CALLBACK_RETRY_DELAYS_MS: "50,50" }));
  try {
    const alice = await createServerSender(server);
    const sent = lookups(8 * PAGE, "gone");
    const correlation = await uploadCsv(server, alice, sent, "bulk-gone", receiver.url);
    const stopped = await waitForState(server, correlation, "callback_failed", 30_000);
    const bulk = stopped.bulk as Json;
    assert.deepEqual([bulk.pages_delivered, bulk.pages_failed], [0, 3]);
    // Three pages, each tried three times; the five others never went out (one of them may have been built).
    assert.equal(receiver.received.length, 9);
    assert.match(
      String(stopped.last_error),
      /^pages 1, 2, 3 could not be delivered: HTTP 500 from callback URL; stopped after 3 pages in a row failed, 5 of 8 pages not sent \(txn retry resumes it\)$/,
    );
    assert.equal((await spoolsLeft(server)).length, 1, "the spool is kept for the pages still to build");
    // The sender reads which pages failed and that the run stopped, not why (a connection's error would make the
    // registry a port scanner of whatever its callback URL names), nor the operator's command.
    const status = await searchTxnStatus(server, alice, "bulk-gone", receiver.url);
    const item = (((status.message as Json).txnstatus_response as Json).txn_status as Json)
      .search_response as Json[];
    assert.equal(
      item[0].status_reason_message,
      "bulk search file: 0 of 200 lookups answered and delivered; pages 1, 2, 3 could not be delivered; " +
        "stopped after 3 pages in a row failed, 5 of 8 pages not sent (the registry's operator can resume it)",
    );
    assert.equal(item[0].status, "rjct", "its answers were never delivered");
    refusing = false;
    // While the operator's retry sends the pages: pdng again, without the old run's error.
    let release!: () => void;
    receiver.gate = new Promise<void>((r) => release = r);
    const hits = receiver.hits;
    const retry = retried(server, correlation);
    await receiver.waitFor(() => receiver.hits > hits);
    const resumed = (((await searchTxnStatus(server, alice, "bulk-gone", receiver.url)).message as Json)
      .txnstatus_response as Json).txn_status as Json;
    const resumedItem = (resumed.search_response as Json[])[0];
    assert.equal(resumedItem.status, "pdng");
    assert.equal(
      resumedItem.status_reason_message,
      "bulk search file: 0 of 200 lookups answered and delivered",
    );
    release();
    const done = await retry;
    assert.deepEqual([(done.bulk as Json).pages_delivered, done.last_error], [8, null]);
    const pages = pagesOf(receiver.received, "bulk-gone");
    assert.equal(pages.length, 8, "each page delivered once");
    checkAnswers(answersOf(pages), sent);
    assert.deepEqual(await spoolsLeft(server), []);
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: every served registry with search takes a file; its pages validate against that registry's yaml", async () => {
  const server = await startWorkerServer(serverEnv({ DCI_DEMO_SIZE: "40" }));
  const receivers: Array<{ close(): Promise<void> }> = [];
  try {
    const alice = await createServerSender(server);
    const served = registryProfiles().filter((p) => p.standardActions.includes("search"));
    assert.ok(served.length >= 5);
    for (const profile of served) {
      const receiver = startReceiver({ registry: profile.name as SpecRegistry });
      receivers.push(receiver);
      // One live identifier of each of the first four live records of the registry's person type.
      const rows = await dataDirSql(
        server.dataDir,
        `SELECT i.registrant_id AS id, i.id_type AS t, i.id_value AS v FROM identifiers i
           JOIN registrants r ON r.id = i.registrant_id
         WHERE r.registry = ? AND r.record_type = ? AND i.live = 1 AND r.deleted_at IS NULL
         ORDER BY i.registrant_id, i.id_type, i.id_value`,
        [profile.name, profile.recordTypes[0].storage],
      );
      const firstOf = new Map<string, { t: string; v: string }>();
      for (const r of rows) {
        if (!firstOf.has(String(r.id))) firstOf.set(String(r.id), { t: String(r.t), v: String(r.v) });
      }
      const known = [...firstOf.values()].slice(0, 4);
      assert.equal(known.length, 4, `${profile.name} has demo records`);
      const sent = [...known.map((k, i) => ({ ref: `k${i}`, type: k.t, value: k.v })), {
        ref: "unknown",
        type: known[0].t,
        value: "NOBODY-1",
      }];
      const txn = `bulk-${profile.name}`;
      const form = await bulkForm(alice.senderId, {
        format: "json",
        file: fileText("json", sent),
        senderUri: receiver.url,
        transactionId: txn,
      });
      const res = await postBulk(`${server.url}/dci_api/v1/${profile.name}/registry/search`, alice, form);
      assert.equal(res.status, 202, `${profile.name}: ${JSON.stringify(res.body)}`);
      await waitForState(server, String((res.body.message as Json).correlation_id), "callback_sent", 30_000);
      const answers = answersOf(pagesOf(receiver.received, txn));
      assert.equal(answers.size, 5, profile.name);
      for (const [ref, a] of answers) {
        const records = ((a.data as Json).reg_records as unknown[]).length;
        assert.equal(records, ref === "unknown" ? 0 : 1, `${profile.name} ${ref}`);
        assert.equal((a.data as Json).reg_type, profile.regType, profile.name);
      }
    }
  } finally {
    await server.stop();
    for (const r of receivers) await r.close();
  }
});

Deno.test("bulk search: a sender's third upload arriving at once is refused with 429 before its body is read", async () => {
  const receiver = startReceiver();
  const server = await startWorkerServer(serverEnv({ DCI_HTTP_ISOLATES: "0" }));
  const feeds: ReadableStreamDefaultController<Uint8Array>[] = [];
  try {
    const alice = await createServerSender(server);
    const url = `${server.url}/registry/search`;
    const form = () =>
      bulkForm(alice.senderId, {
        format: "csv",
        file: fileText("csv", lookups(5, "c")),
        senderUri: receiver.url,
      });
    // Two uploads that send all but their last bytes, then nothing.
    const stalled = [];
    for (let i = 0; i < 2; i++) {
      const f = await form();
      const body = new ReadableStream<Uint8Array>({
        start: (c) => {
          feeds.push(c);
          c.enqueue(f.bytes.slice(0, f.bytes.length - 20));
        },
      });
      // The server ends the other one at its stop.
      stalled.push(
        postBulk(url, alice, f, { body }).catch((err) => ({ status: 0, body: { err: String(err) } })),
      );
    }
    await untilArriving(server, 2, 0);
    const third = await postBulk(url, alice, await form());
    assert.equal(third.status, 429, JSON.stringify(third.body));
    assert.match(
      String((third.body.message as Json)?.error && JSON.stringify(third.body)),
      /already has 2 bulk/,
    );
    // Once one of them ends (here: cut short, refused), the next is taken.
    feeds[0].close();
    const cut = await stalled[0];
    assert.equal(cut.status, 400, JSON.stringify(cut.body));
    assert.match(JSON.stringify(cut.body), /malformed|Unexpected end/);
    let next = await postBulk(url, alice, await form());
    for (let i = 0; i < 200 && next.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 100));
      next = await postBulk(url, alice, await form());
    }
    assert.equal(next.status, 202, JSON.stringify(next.body));
  } finally {
    for (const f of feeds) {
      try {
        f.close();
      } catch { /* closed already */ }
    }
    await server.stop();
    await receiver.close();
  }
});

Deno.test("bulk search: a sender with DCI_BULK_MAX_OPEN_PER_SENDER searches open is refused 429 until one ends; another sender is not", async () => {
  const receiver = startReceiver();
  const server = await startWorkerServer(serverEnv({ DCI_BULK_MAX_OPEN_PER_SENDER: "1" }));
  try {
    const alice = await createServerSender(server);
    const bob = await createServerSender(server);
    const upload = async (sender: typeof alice, txn: string) =>
      await postBulk(
        `${server.url}/registry/search`,
        sender,
        await bulkForm(sender.senderId, {
          format: "csv",
          file: fileText("csv", lookups(5, "c")),
          senderUri: receiver.url,
          transactionId: txn,
        }),
      );
    const first = await upload(alice, "open-1");
    assert.equal(first.status, 202, JSON.stringify(first.body));
    await waitForState(server, String((first.body.message as Json).correlation_id), "callback_sent", 30_000);
    // The first is out: the next is taken, and stays open while its receiver refuses its page (retried).
    receiver.respond = () => 503;
    const second = await upload(alice, "open-2");
    assert.equal(second.status, 202, JSON.stringify(second.body));
    const spools = (await spoolsLeft(server)).length;
    const third = await upload(alice, "open-3");
    assert.equal(third.status, 429, JSON.stringify(third.body));
    assert.match(JSON.stringify(third.body), /has 1 bulk searches open \(DCI_BULK_MAX_OPEN_PER_SENDER: 1\)/);
    assert.equal(third.headers.get("retry-after"), "60");
    assert.equal((await spoolsLeft(server)).length, spools, "nothing of the refused upload is spooled");
    const other = await upload(bob, "open-bob");
    assert.equal(other.status, 202, JSON.stringify(other.body));
    // Two of a sender's uploads arriving together both pass the early count (made before the body): each is held
    // before its last bytes until both are in, then the insert counts again and takes one.
    const carol = await createServerSender(server);
    const before = (await spoolsLeft(server)).length;
    const feeds: Array<() => void> = [];
    const together = ["open-c1", "open-c2"].map(async (txn) => {
      const f = await bulkForm(carol.senderId, {
        format: "csv",
        file: fileText("csv", lookups(5, "c")),
        senderUri: receiver.url,
        transactionId: txn,
      });
      const cut = f.bytes.length - 20;
      const body = new ReadableStream<Uint8Array>({
        start: (c) => {
          c.enqueue(f.bytes.slice(0, cut));
          feeds.push(() => {
            c.enqueue(f.bytes.slice(cut));
            c.close();
          });
        },
      });
      return await postBulk(`${server.url}/registry/search`, carol, f, { body });
    });
    await untilArriving(server, 2, before);
    for (const feed of feeds) feed();
    const answers = await Promise.all(together);
    assert.deepEqual(
      answers.map((r) => r.status).sort(),
      [202, 429],
      JSON.stringify(answers.map((r) => r.body)),
    );
  } finally {
    await server.stop();
    await receiver.close();
  }
});
