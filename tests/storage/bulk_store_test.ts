/** The bulk search store, the same contract on both backends (and two PostgreSQL instances racing a page). */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { iso, newTxn, T0 } from "../helpers/txn_rows.ts";
import type { Storage } from "../../src/db/storage.ts";

const FILE = { spool: "f.lookups", file_name: "people.csv", file_format: "csv" as const, items_total: 25 };

/** A bulk search of 25 lookups in pages of 10, claimed for processing by "w". */
async function claimedBulk(s: Storage, tid = "bulk-1"): Promise<number> {
  const { row } = await s.transactions.insert(newTxn("s1", tid), { ...FILE, page_size: 10 });
  ok(await s.transactions.claimProcessing(row.id, "w", iso(T0), iso(T0 + 60_000)));
  return row.id;
}

const page = (txn: number, n: number, items = 10) => ({
  txn,
  page: n,
  items,
  completed: Math.min(25, n * 10),
  message: JSON.stringify({ page: n }),
  nextOffset: n * 100,
});

backendTest("bulk store: pages are stored once and in order; attempts move the counts", async (s) => {
  const id = await claimedBulk(s);
  const b = s.bulk;
  deepEqual(await b.get(id), {
    txn: id,
    ...FILE,
    page_size: 10,
    pages_total: 3,
    pages_built: 0,
    items_done: 0,
    next_offset: 0,
    pages_sent: 0,
    pages_failed: 0,
  });
  equal(await b.get(id + 1), undefined);
  equal(await b.storePage(page(id, 2)), false, "not the next page");
  ok(await b.storePage(page(id, 1)));
  equal(await b.storePage(page(id, 1)), false, "built already");
  ok(await b.storePage(page(id, 2)));
  const first = (await b.firstPendingPage(id))!;
  deepEqual({ ...first, message_id: typeof first.message_id }, {
    txn: id,
    page: 1,
    items: 10,
    completed: 10,
    message_id: "string",
    state: "pending",
    attempts: 0,
    last_error: null,
  });
  equal(await b.pageMessage(id, 1), JSON.stringify({ page: 1 }));
  equal(await b.pageMessage(id, 9), null);

  await b.recordPageAttempt({ txn: id, page: 1, outcome: "retry", error: "HTTP 503", now: iso(T0 + 1) });
  deepEqual([(await b.firstPendingPage(id))!.attempts, (await b.firstPendingPage(id))!.last_error], [
    1,
    "HTTP 503",
  ]);
  await b.recordPageAttempt({ txn: id, page: 1, outcome: "sent", now: iso(T0 + 2) });
  // A second outcome for the same page changes nothing.
  await b.recordPageAttempt({ txn: id, page: 1, outcome: "sent", now: iso(T0 + 3) });
  equal(await b.pageMessage(id, 1), null, "a sent page's message is dropped");
  equal((await s.transactions.get(id))!.completed_count, 10);
  await b.recordPageAttempt({ txn: id, page: 2, outcome: "failed", error: "gone", now: iso(T0 + 4) });
  equal(await b.firstPendingPage(id), undefined);
  deepEqual(await b.progress(id), {
    file_name: "people.csv",
    file_format: "csv",
    page_size: 10,
    items_total: 25,
    items_done: 20,
    pages_total: 3,
    pages_delivered: 1,
    pages_failed: 1,
    pages_undelivered: [{ page: 2, state: "failed", attempts: 1, last_error: "gone" }],
  });
  equal(await b.progress(id + 1), undefined);
  ok(await b.storePage(page(id, 3, 5)));
});

backendTest(
  "bulk store: the lease holder renews and finishes; an operator's retry reopens failed pages",
  async (s) => {
    const id = await claimedBulk(s);
    const b = s.bulk;
    ok(await b.renewLease(id, "w", iso(T0 + 120_000), iso(T0 + 1)));
    equal(await b.renewLease(id, "x", iso(T0 + 120_000), iso(T0 + 1)), false);
    equal((await s.transactions.get(id))!.lease_until, iso(T0 + 120_000));
    ok(await b.storePage(page(id, 1)));
    await b.recordPageAttempt({ txn: id, page: 1, outcome: "failed", error: "gone", now: iso(T0 + 2) });
    equal(await b.finish(id, "x", { failedPages: 1, items: 25, now: iso(T0 + 3) }), false);
    ok(await b.finish(id, "w", { failedPages: 1, items: 25, now: iso(T0 + 3) }));
    const ended = (await s.transactions.get(id))!;
    deepEqual([ended.state, ended.outcome, ended.last_error, ended.lease_owner], [
      "callback_failed",
      "succ",
      "1 page(s) could not be delivered",
      null,
    ]);
    equal(await b.reopen(id, iso(T0 + 4)), false, "only once the transaction was reopened");
    ok(await s.transactions.reopenFailedCallback(id, iso(T0 + 4)));
    ok(await b.reopen(id, iso(T0 + 5)));
    const reopened = (await s.transactions.get(id))!;
    deepEqual([reopened.state, reopened.outcome, reopened.process_attempts], ["pending", null, 0]);
    deepEqual([(await b.firstPendingPage(id))!.page, (await b.get(id))!.pages_failed], [1, 0]);
    // A run that made no progress ends rejected with the reason.
    ok(await s.transactions.claimProcessing(id, "v", iso(T0 + 6), iso(T0 + 60_000)));
    ok(await b.finish(id, "v", { failedPages: 0, items: 25, now: iso(T0 + 7), reason: "no progress" }));
    const failed = (await s.transactions.get(id))!;
    deepEqual([failed.state, failed.outcome, failed.status_reason_message], [
      "callback_failed",
      "rjct",
      "no progress",
    ]);
  },
);

backendTest(
  "bulk store: the progress lists the pages not delivered, at most 20; the end names the failed ones and why",
  async (s) => {
    const { row } = await s.transactions.insert(newTxn("s1", "bulk-many"), {
      ...FILE,
      items_total: 30,
      page_size: 1,
    });
    ok(await s.transactions.claimProcessing(row.id, "w", iso(T0), iso(T0 + 60_000)));
    const id = row.id;
    const b = s.bulk;
    const one = (n: number) => ({ ...page(id, n, 1), completed: n, nextOffset: n });
    for (let n = 1; n <= 4; n++) ok(await b.storePage(one(n)));
    await b.recordPageAttempt({ txn: id, page: 1, outcome: "sent", now: iso(T0) });
    await b.recordPageAttempt({
      txn: id,
      page: 2,
      outcome: "retry",
      error: "HTTP 503 from callback URL",
      now: iso(T0),
    });
    await b.recordPageAttempt({
      txn: id,
      page: 2,
      outcome: "failed",
      error: "HTTP 500 from callback URL",
      now: iso(T0),
    });
    await b.recordPageAttempt({ txn: id, page: 3, outcome: "retry", error: "timed out", now: iso(T0) });
    deepEqual((await b.progress(id))!.pages_undelivered, [
      { page: 2, state: "failed", attempts: 2, last_error: "HTTP 500 from callback URL" },
      { page: 3, state: "pending", attempts: 1, last_error: "timed out" },
      { page: 4, state: "pending", attempts: 0, last_error: null },
    ]);
    await b.recordPageAttempt({ txn: id, page: 3, outcome: "sent", now: iso(T0) });
    await b.recordPageAttempt({
      txn: id,
      page: 4,
      outcome: "failed",
      error: "HTTP 500 from callback URL",
      now: iso(T0),
    });
    // Two pages failed with one error: both named, the error once.
    let failed = (await b.progress(id))!.pages_undelivered;
    ok(await b.finish(id, "w", { failedPages: 2, failed, items: 30, now: iso(T0 + 1) }));
    equal(
      (await s.transactions.get(id))!.last_error,
      "pages 2, 4 could not be delivered: HTTP 500 from callback URL",
    );

    // 26 more pages, all failed, two errors: 20 listed, the rest counted.
    ok(await s.transactions.reopenFailedCallback(id, iso(T0 + 2)));
    ok(await b.reopen(id, iso(T0 + 2)));
    ok(await s.transactions.claimProcessing(id, "v", iso(T0 + 3), iso(T0 + 60_000)));
    for (const n of [2, 4]) {
      await b.recordPageAttempt({ txn: id, page: n, outcome: "sent", now: iso(T0 + 3) });
    }
    for (let n = 5; n <= 30; n++) {
      ok(await b.storePage(one(n)));
      const error = n === 5 ? "HTTP 404 from callback URL" : "HTTP 500 from callback URL";
      await b.recordPageAttempt({ txn: id, page: n, outcome: "failed", error, now: iso(T0 + 3) });
    }
    const progress = (await b.progress(id))!;
    deepEqual(progress.pages_undelivered.map((p) => p.page), Array.from({ length: 20 }, (_, i) => i + 5));
    deepEqual([progress.pages_failed, progress.pages_delivered], [26, 4]);
    failed = progress.pages_undelivered;
    ok(await b.finish(id, "v", { failedPages: 26, failed, items: 30, now: iso(T0 + 4) }));
    equal(
      (await s.transactions.get(id))!.last_error,
      `pages ${failed.map((p) => p.page).join(", ")} and 6 more could not be delivered: ` +
        "page 5: HTTP 404 from callback URL; page 6: HTTP 500 from callback URL; page 7: HTTP 500 from callback URL; …",
    );
  },
);

Deno.test("bulk store [postgres]: two instances storing the same page at once store it once", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const id = await claimedBulk(a);
    for (let n = 1; n <= 3; n++) {
      const results = await Promise.all([a, b, a, b].map((s) => s.bulk.storePage(page(id, n))));
      equal(results.filter(Boolean).length, 1, `page ${n} stored once`);
    }
    const done = (await b.bulk.get(id))!;
    deepEqual([done.pages_built, done.next_offset], [3, 300]);
  });
});
