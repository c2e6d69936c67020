/**
 * A write lock held by another connection (`BEGIN IMMEDIATE`, as `sqlite3` or a backup would) that a step meets
 * after its claim counted the attempt: the result write, the release of a failed attempt, a bulk run's page write,
 * and the accept of an admitted request. None counts against the transaction or refuses the sender for good. The
 * lock is let go when the server logs that it met it, never after a time.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage, storeBulkSearch } from "../transactions/support.ts";
import { type Db, openDatabase, setBusyTimeout } from "../../src/db/sqlite.ts";
import { createLogger } from "../../src/obs/log.ts";
import { TXN_ACTIONS } from "../../src/transactions/states.ts";
import { getByCorrelationId } from "../../src/transactions/store.ts";
import type { Processor, ProcessResult } from "../../src/dci/processor.ts";
import { requestEnvelope } from "../helpers/dci.ts";

/** A harness on a file database, a second connection that can hold its write lock, and the warnings logged. */
async function lockedHarness(
  overrides: Record<string, string>,
  options: { processor?: Processor } = {},
): Promise<
  { h: Harness; other: Db; logged: string[]; hold(): void; release(): void; close(): Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "dci-fault-steps-" });
  const processors = options.processor
    ? Object.fromEntries(TXN_ACTIONS.map((a) => [a, options.processor])) as never
    : undefined;
  // One attempt allowed: a storage fault counted as the transaction's attempt would fail it for good.
  const h = await harness(
    { dataDir: dir, processAttempts: "1", ...overrides },
    processors ? { processors } : {},
  );
  const other = openDatabase(`${dir}/dci.sqlite`);
  // The worker's synchronous writes (lease renewals, bulk pages) fail at once instead of blocking the isolate.
  setBusyTimeout(h.deps.db, 20);
  const release = () => {
    if (other.isOpen && other.isTransaction) other.exec("ROLLBACK");
  };
  const logged: string[] = [];
  h.deps.log = createLogger("warn", {
    sink: (line) => {
      logged.push(String(JSON.parse(line).msg));
      // The other process lets go once the server has met its lock.
      release();
    },
  });
  return {
    h,
    other,
    logged,
    hold: () => {
      if (!other.isTransaction) other.exec("BEGIN IMMEDIATE");
    },
    release,
    close: async () => {
      release();
      other.close();
      h.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const RESULT_DEFERRED = "transaction result met a storage fault; tried again soon under its claim";
const RELEASE_DEFERRED = "transaction release met a storage fault; tried again soon under its claim";

/** A search's answer: every item found nothing. */
function answered(input: { transactionId: string; correlationId: string }): ProcessResult {
  return {
    status: "succ",
    totalCount: 1,
    completedCount: 1,
    message: {
      transaction_id: input.transactionId,
      correlation_id: input.correlationId,
      search_response: [],
    },
  };
}

Deno.test("worker: a result write that meets a held lock is stored at the next handling, under its claim; the attempt counts once", async () => {
  let runs = 0;
  const lock = { hold: () => {} };
  // The lock is taken while the processor runs: the claim counted the attempt, the result write meets the lock.
  const processor: Processor = (_deps, input) => {
    runs++;
    lock.hold();
    return Promise.resolve(answered(input));
  };
  const t = await lockedHarness({}, { processor });
  lock.hold = t.hold;
  try {
    const res = await t.h.post("/registry/search", searchMessage("t-result-lock"));
    equal(res.status, 202, JSON.stringify(res.body));
    const cid = (res.body.message as { correlation_id: string }).correlation_id;
    const row = () => getByCorrelationId(t.h.deps.db, cid)!;
    await t.h.worker.handle(row().id);
    equal(row().process_attempts, 1);
    // The wake-up it asked for, or the due-work poll once the lease lapsed (before: each of those took the
    // transaction again and counted it, until it was answered rjct.processing.failed).
    for (let i = 0; i < 2 && row().state === "processing"; i++) {
      t.h.deps.clock.advance(t.h.deps.config.leaseSeconds * 1000 + 1);
      await t.h.worker.handle(row().id);
    }
    const done = row();
    equal(done.state, "callback_sent", `${done.state}: ${done.process_error}`);
    equal(done.outcome, "succ", `answered ${done.status_reason_code}: ${done.process_error}`);
    equal(done.process_attempts, 1);
    equal(runs, 1, "the processor ran once: its result was kept, not redone");
    ok(t.logged.includes(RESULT_DEFERRED), t.logged.join("; "));
  } finally {
    await t.close();
  }
});

Deno.test("worker: the release of an attempt that met a held lock, meeting it too, is written at the next handling; the attempt stays uncounted", async () => {
  let fail = true;
  const lock = { hold: () => {} };
  // A processor write that meets the lock past its tries, with the lock still held when the claim is let go.
  const processor: Processor = (_deps, input) => {
    if (!fail) return Promise.resolve(answered(input));
    lock.hold();
    return Promise.reject(Object.assign(new Error("database is locked"), { errcode: 5 }));
  };
  // A 1 s lease: the processor is tried again under the claim for a fraction of a second only.
  const t = await lockedHarness({ leaseSeconds: "1" }, { processor });
  lock.hold = t.hold;
  try {
    const res = await t.h.post("/registry/search", searchMessage("t-release-lock"));
    const cid = (res.body.message as { correlation_id: string }).correlation_id;
    const row = () => getByCorrelationId(t.h.deps.db, cid)!;
    await t.h.worker.handle(row().id);
    // The next handling (the wake-up it asked for; the clock has not moved) writes the release first.
    await t.h.worker.handle(row().id);
    const waiting = row();
    equal(waiting.state, "processing");
    equal(waiting.lease_owner, null, "the claim was let go");
    equal(waiting.process_attempts, 0, "the attempt that met the lock is not counted");
    match(waiting.process_error ?? "", /not counted.*database is locked/);
    ok(t.logged.includes(RELEASE_DEFERRED), t.logged.join("; "));
    // Its retry time (or a lapsed lease) comes: it is redone and answered.
    fail = false;
    t.h.deps.clock.advance(60_000);
    await t.h.worker.handle(row().id);
    const done = row();
    equal(done.state, "callback_sent", `${done.state}: ${done.process_error}`);
    equal(done.outcome, "succ", `answered ${done.status_reason_code}: ${done.process_error}`);
    equal(done.process_attempts, 1);
  } finally {
    await t.close();
  }
});

Deno.test("bulk search: its page write and its finish wait for a write lock held elsewhere on timers, never blocking the isolate", async () => {
  const t = await lockedHarness({});
  try {
    // As the worker isolate's connection has it beside HTTP isolates: a blocking wait could last this long.
    setBusyTimeout(t.h.deps.db, 2_000);
    const id = await storeBulkSearch(t.h, "bulk-wait", 1);
    // Another connection takes the lock while the page is on the wire, and again as the run finishes, and lets it
    // go only after this isolate's timers have run five turns meanwhile: a write that blocked the event loop
    // waiting for it would meet the busy timeout and fail, and the run would not end sent.
    let releases = 0;
    const held = () => {
      t.hold();
      let turns = 0;
      const wait = setInterval(() => {
        if (++turns < 5) return;
        clearInterval(wait);
        t.release();
        releases++;
      }, 10);
    };
    const request = t.h.http.request.bind(t.h.http);
    t.h.http.request = (url, init) => {
      held();
      return request(url, init);
    };
    const bulk = t.h.deps.storage.bulk;
    const finish = bulk.finish.bind(bulk);
    let finished = 0;
    bulk.finish = (...args) => {
      finished++;
      held();
      return finish(...args);
    };
    await t.h.worker.handle(id);
    equal(finished, 1);
    equal(releases, 2, "both holds were let go by the isolate's timers");
    const done = (await t.h.deps.storage.transactions.get(id))!;
    equal(done.state, "callback_sent", `${done.state}: ${done.last_error}`);
  } finally {
    await t.close();
  }
});

Deno.test("bulk search: a page write that meets a held lock lets the run go uncounted (its release deferred too), and it resumes to the end", async () => {
  const t = await lockedHarness({});
  try {
    const id = await storeBulkSearch(t.h, "bulk-lock", 2);
    // The lock is taken while the first page is on the wire: its attempt's record meets it.
    const request = t.h.http.request.bind(t.h.http);
    t.h.http.request = (url, init) => {
      if (t.h.http.sent.length === 0) t.hold();
      return request(url, init);
    };
    await t.h.worker.handle(id);
    // The next handling (the wake-up it asked for; the clock has not moved) writes the release first.
    await t.h.worker.handle(id);
    const waiting = (await t.h.deps.storage.transactions.get(id))!;
    equal(waiting.state, "processing");
    equal(waiting.lease_owner, null, "the run was let go");
    equal(waiting.process_attempts, 0, "the run that met the lock is not counted");
    match(waiting.process_error ?? "", /not counted/);
    ok(t.logged.includes("bulk search release met a storage fault; tried again soon under its claim"));
    // The due-work poll's turn once the retry time (or a lapsed lease) has come.
    t.h.deps.clock.advance(t.h.deps.config.leaseSeconds * 1000 + 1);
    await t.h.worker.handle(id);
    const done = (await t.h.deps.storage.transactions.get(id))!;
    equal(done.state, "callback_sent", `${done.state}: ${done.status_reason_message}`);
    equal(done.process_attempts, 1);
    const bulk = (await t.h.deps.storage.bulk.get(id))!;
    deepEqual([bulk.pages_sent, bulk.pages_failed], [2, 0]);
    // The page in flight at the fault goes again (at least once, the same message_id).
    const pages = t.h.http.sent.map((s) => (s.body.header as Json).message_id as string);
    equal(new Set(pages).size, 2, pages.join());
  } finally {
    await t.close();
  }
});

Deno.test("accept: an async request refused 503 for a held lock is accepted when sent again byte for byte", async () => {
  const t = await lockedHarness({});
  try {
    const { h } = t;
    const signed = (txn: string, path: "search" | "sync/search") =>
      JSON.stringify(h.alice.sign(
        requestEnvelope(h.alice.senderId, searchMessage(txn), {
          action: "search",
          nowMs: h.deps.clock.now(),
          totalCount: 1,
          header: path === "search" ? { sender_uri: "https://alice.example/cb" } : {},
        }),
        h.deps.clock.now(),
      ));
    const post = async (path: string, body: string) => {
      const res = await h.app.request(`/registry/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...h.alice.headers() },
        body,
      });
      return {
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        body: await res.json() as Json,
      };
    };
    // The lock is taken after admission (rate limit and message_id committed), while the callback URL is checked.
    const check = h.http.check;
    h.http.check = (...args) => {
      t.hold();
      h.http.check = check;
      return check(...args);
    };
    const body = signed("t-accept-lock", "search");
    const refused = await post("search", body);
    equal(refused.status, 503, JSON.stringify(refused.body));
    equal(refused.retryAfter, "2");
    t.release();
    // As Retry-After invites: the same bytes again. Before: 409 rjct.message_id.duplicate, and nothing stored.
    const again = await post("search", body);
    equal(again.status, 202, JSON.stringify(again.body));
    const stored = getByCorrelationId(h.deps.db, again.body.message.correlation_id)!;
    equal(stored.transaction_id, "t-accept-lock");
    // Once stored, a copy is a duplicate; a sync request's copy always is (its answer is not stored).
    const third = await post("search", body);
    equal(third.status, 409);
    match(third.body.message.error.message, /^rjct\.message_id\.duplicate/);
    const sync = signed("t-sync", "sync/search");
    equal((await post("sync/search", sync)).status, 200);
    const syncAgain = await post("sync/search", sync);
    equal(syncAgain.status, 409);
    equal(syncAgain.body.header.status_reason_code, "rjct.message_id.duplicate");
  } finally {
    await t.close();
  }
});
