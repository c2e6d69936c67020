/**
 * The query plans of the lists the console pages and the admin API read (issue 15: a page stays fast at 1M
 * registrants and 100k transactions): with each filter, the list reads an index that leads with the filter and
 * follows the list's order, so it stops after one page. No full scan, no walk down the primary key testing each
 * row (a rare sender's page read the whole table), no temporary B-tree sorting the matches. The statements are
 * the ones the list functions really run: a recording handle captures each with its arguments, and SQLite's
 * EXPLAIN QUERY PLAN reads the plan of exactly that.
 */
import assert from "node:assert/strict";
import type { StatementSync } from "node:sqlite";
import { testDeps } from "../helpers/deps.ts";
import type { Db } from "../../src/db/sqlite.ts";
import { findByReferenceIds, listTransactions } from "../../src/transactions/store.ts";
import { listNotifications } from "../../src/subscriptions/notifications.ts";
import { listAudit } from "../../src/audit/log.ts";
import { listRecentEvents } from "../../src/registry/events.ts";
import { PREVIOUS } from "../../src/subscriptions/fanout_store.ts";
import { EVENT_RETENTION_SQL } from "../../src/registry/event_retention.ts";
import { dashboardSeries } from "../../src/obs/dashboard.ts";
import { registrantCounts } from "../../src/registry/store.ts";
import { EXISTING_IDS } from "../../src/registry/batch.ts";
import { registryEmpty, sqliteRegistryStore } from "../../src/registry/registry_store.ts";

type Args = Array<string | number | null>;

/** A handle on `db` whose statements record each run (text and arguments) before they run. */
function recording(db: Db): { db: Db; runs: Array<{ sql: string; args: Args }> } {
  const runs: Array<{ sql: string; args: Args }> = [];
  const wrap = (s: StatementSync, sql: string) =>
    new Proxy(s, {
      get(target, key) {
        const v = Reflect.get(target, key, target);
        if (key !== "all" && key !== "get" && key !== "iterate") {
          return typeof v === "function" ? v.bind(target) : v;
        }
        return (...args: Args) => {
          runs.push({ sql, args });
          return (v as (...a: Args) => unknown).apply(target, args);
        };
      },
    });
  const handle = new Proxy(db, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (key === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { db: handle, runs };
}

/**
 * The plan lines of every statement `read` ran: the list's own last, and before it the cursor lookup if any
 * (one row by id: it takes no filter, so `filtered` is for the last alone).
 */
function plansOf(db: Db, read: (db: Db) => unknown): Array<{ plan: string[]; last: boolean }> {
  const rec = recording(db);
  read(rec.db);
  assert.ok(rec.runs.length > 0, "the list ran a statement");
  return rec.runs.map(({ sql, args }, i) => ({
    plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) =>
      r.detail
    ),
    last: i === rec.runs.length - 1,
  }));
}

/**
 * Why `plan` is not an indexed keyset read, or null. `filtered`: a filter must pick the index. `aggregate`: a
 * sum over a window the key bounds (the dashboard's), which may group in a temporary B-tree.
 */
function fault(plan: string[], filtered: boolean, aggregate = false): string | null {
  for (const line of plan) {
    if (aggregate && line === "USE TEMP B-TREE FOR GROUP BY") continue;
    if (/TEMP B-TREE/.test(line)) return `sorts the matches: ${line}`;
    if (!/^(SCAN|SEARCH) /.test(line)) continue;
    if (/USING INTEGER PRIMARY KEY \(rowid=\?\)/.test(line)) continue; // one row by id (a join, the cursor)
    if (/^SCAN \(subquery-\d+\)$/.test(line)) continue; // the rows a subquery's own plan (checked too) gave
    if (line === "SCAN CONSTANT ROW") continue; // a SELECT of no table: its subqueries' plans are the reads
    if (!filtered && /^SCAN \S+( USING (COVERING )?INDEX \S+)?$/.test(line)) continue; // in order, to the limit
    if (!filtered && /USING INTEGER PRIMARY KEY \(rowid<\?\)$/.test(line)) continue;
    if (/^SEARCH \S+( AS \S+)?( EXISTS)? USING (COVERING )?INDEX \S+ \((?!rowid)/.test(line)) continue;
    if (/^SEARCH \S+ USING PRIMARY KEY \((?!rowid)/.test(line)) continue; // a WITHOUT ROWID table's key
    return `reads rows the filter does not pick by index: ${line}`;
  }
  return null;
}

const HOUR = { since: "2026-05-01T10:00:00.000Z", until: "2026-05-01T11:00:00.000Z" };

Deno.test("list plans: every transactions, notifications, audit and events filter reads an index in page order", async () => {
  const deps = await testDeps();
  try {
    // A cursor row each, so the cursor lookups run too.
    deps.db.exec(`INSERT INTO transactions (sender_id, transaction_id, dedupe_key, message_id, correlation_id,
        action, registry, callback_url, request_header, request_message, ack, state, created_at, updated_at)
      VALUES ('s1', 't1', 't1', 'm1', 'c1', 'search', 'social', 'https://p.example/cb', '{}', '{}', '{}',
        'pending', '2026-05-01T10:30:00.000Z', '2026-05-01T10:30:00.000Z')`);
    const txn = { limit: 50 };
    const cases: Array<[string, boolean, (db: Db) => unknown, aggregate?: boolean]> = [
      ["transactions, first page", false, (db) => listTransactions(db, txn)],
      ["transactions, deep page", false, (db) => listTransactions(db, { ...txn, before: 1 })],
      ["transactions, one hour", true, (db) => listTransactions(db, { ...txn, ...HOUR })],
    ];
    const filters: Array<[string, Record<string, string>]> = [
      ["state", { state: "callback_failed" }],
      ["sender", { senderId: "s1" }],
      ["registry", { registry: "crvs" }],
      ["action", { action: "subscribe" }],
      ["transaction_id", { transactionId: "t1" }],
    ];
    for (const [name, f] of filters) {
      cases.push(
        [`transactions, ${name}`, true, (db) => listTransactions(db, { ...txn, ...f })],
        [`transactions, ${name}, deep page`, true, (db) => listTransactions(db, { ...txn, ...f, before: 1 })],
        [`transactions, ${name}, one hour`, true, (db) => listTransactions(db, { ...txn, ...f, ...HOUR })],
      );
    }
    cases.push(
      ["notifications, first page", false, (db) => listNotifications(db, { limit: 50 })],
      ["notifications, status=failed", true, (db) => listNotifications(db, { status: "failed", limit: 50 })],
      ["notifications, status, one hour", true, (db) => listNotifications(db, { status: "sent", ...HOUR })],
      [
        "notifications, one subscription",
        true,
        (db) => listNotifications(db, { subscription: "x", limit: 50 }),
      ],
      ["notifications, one hour", true, (db) => listNotifications(db, { ...HOUR, limit: 50 })],
      ["audit, first page", false, (db) => listAudit(db, { limit: 50 })],
      ["audit, actor", true, (db) => listAudit(db, { actor: "at_1", limit: 50 })],
      ["audit, action", true, (db) => listAudit(db, { action: "sender.update", limit: 50 })],
      ["audit, target", true, (db) => listAudit(db, { targetKind: "sender", targetId: "s1", limit: 50 })],
      ["registry events, recent", false, (db) => listRecentEvents(db, "social", { limit: 50 })],
      // Fan-out's previous event of a registrant: one seek, not a walk back over every later event.
      ["fan-out, a registrant's previous event", true, (db) => db.prepare(PREVIOUS).get(1, 10)],
      // Event retention: one range of records on the (registrant_id, id) index, never a walk of the log.
      [
        "event retention, one range of records",
        true,
        (db) => db.prepare(EVENT_RETENTION_SQL.purge).all(1, 5001, 10, 10, 2000),
      ],
      // txn/status by reference ids: each one's newest transactions along the refs' key, not every one it named.
      [
        "txn status, reference ids",
        true,
        (db) => findByReferenceIds(db, { senderId: "s1", registry: "social", since: HOUR.since }, ["1", "2"]),
      ],
      // The admin list of a registry's records, its counts and a load's "is it empty": that registry's entries
      // of its index (migration 0041), never every registry's records (a small registry beside a large one).
      ["registrants, a registry", true, (db) => sqliteRegistryStore(db).list("crvs", { limit: 50 })],
      [
        "registrants, a registry, one record type, deep page",
        true,
        (db) => sqliteRegistryStore(db).list("social", { recordType: "group", before: 10, limit: 50 }),
      ],
      ["registrants, counts", true, (db) => registrantCounts(db, "crvs")],
      ["registrants, a registry empty?", true, (db) => registryEmpty(db, "fr")],
      ["dashboard, day", true, (db) => dashboardSeries(db, "day", Date.parse("2026-05-01T12:00:00Z")), true],
      [
        "dashboard, hour",
        true,
        (db) => dashboardSeries(db, "hour", Date.parse("2026-05-01T12:00:00Z")),
        true,
      ],
    );
    const faults: string[] = [];
    for (const [name, filtered, read, aggregate] of cases) {
      for (const { plan, last } of plansOf(deps.db, read)) {
        const why = fault(plan, filtered && last, aggregate);
        if (why) faults.push(`${name}: ${why}`);
      }
    }
    assert.deepEqual(faults, []);
  } finally {
    deps.close();
  }
});

Deno.test("list plans: an import batch's stored ids are a seek each, never the registry's entries walked per batch", async () => {
  const deps = await testDeps();
  try {
    const plan = (deps.db.prepare(`EXPLAIN QUERY PLAN ${EXISTING_IDS}`).all('["a","b"]', "social") as Array<
      { detail: string }
    >).map((r) => r.detail);
    assert.equal(plan.length, 2, plan.join("; "));
    assert.match(plan[0], /^SCAN j VIRTUAL TABLE/);
    assert.match(
      plan[1],
      /^SEARCH r USING (COVERING )?INDEX sqlite_autoindex_registrants_1 \(external_id=\? AND registry=\?\)$/,
    );
  } finally {
    deps.close();
  }
});

Deno.test("list plans: the checker refuses a walk down the primary key and a sort", () => {
  assert.match(fault(["SEARCH transactions USING INTEGER PRIMARY KEY (rowid<?)"], true)!, /by index/);
  assert.match(fault(["SCAN transactions"], true)!, /by index/);
  assert.match(fault(["SEARCH t USING INDEX t_x (x=?)", "USE TEMP B-TREE FOR ORDER BY"], true)!, /sorts/);
  assert.equal(fault(["SEARCH t USING INDEX t_x (x=?)"], true), null);
  assert.equal(fault(["SCAN t USING INDEX t_created"], false), null);
  assert.match(
    fault(["SEARCH m USING PRIMARY KEY (span=?)", "USE TEMP B-TREE FOR GROUP BY"], true)!,
    /sorts/,
  );
  assert.equal(
    fault(["SEARCH m USING PRIMARY KEY (span=?)", "USE TEMP B-TREE FOR GROUP BY"], true, true),
    null,
  );
  assert.equal(
    fault(["SCAN m", "USE TEMP B-TREE FOR GROUP BY"], true, true),
    "reads rows the filter does not pick by index: SCAN m",
  );
});
