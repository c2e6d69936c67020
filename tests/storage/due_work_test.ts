/**
 * The one query for due work (src/jobs/due_store.ts), the same on both backends: the transactions due, the
 * notification lanes due and whether events wait for the fan-out, in one statement.
 */
import { deepEqual, equal } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { event, NOW, options, person, registrant, subscribe } from "../helpers/fanout_fixture.ts";
import { newTxn } from "../helpers/txn_rows.ts";

const LATER = "2026-06-03T00:00:00.000Z";

backendTest(
  "due work: one query names the due transactions, the due lanes and events waiting for the fan-out",
  async (
    s,
    sql,
  ) => {
    const none = await s.dueWork.due(NOW, NOW, 10);
    deepEqual(none, { transactions: [], lanes: [], events: false });

    const sub = await subscribe(s);
    const txn = (await s.transactions.insert(newTxn("s1", "waiting"))).row.id;
    const a = await registrant(sql, "a");
    await event(sql, a, "registration", person("a"));
    deepEqual(await s.dueWork.due(NOW, NOW, 10), { transactions: [txn], lanes: [], events: true });
    // The limit bounds the transactions only.
    deepEqual((await s.dueWork.due(NOW, NOW, 0)).transactions, []);

    // Fanned out: the event is logged as the subscription's notification, due at NOW.
    deepEqual(await s.fanOut.batch(options()), { events: 1, logged: 1 });
    deepEqual(await s.dueWork.due(NOW, NOW, 10), { transactions: [txn], lanes: [sub], events: false });

    // Its first attempt failed: the lane is due again only at the retry's time.
    const [{ n: head }] = await s.notifications.pending(sub, 1);
    equal(await s.notifications.markRetry(head.id, { error: "HTTP 500" }, LATER, NOW), true);
    deepEqual((await s.dueWork.due(NOW, NOW, 10)).lanes, []);
    deepEqual((await s.dueWork.due(LATER, NOW, 10)).lanes, [sub]);
  },
);
