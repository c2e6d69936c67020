/** The audit store, the same contract on both backends. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { auditAhead, eachAudit } from "../../src/audit/store.ts";
import { createLogger } from "../../src/obs/log.ts";
import { MAX_DETAIL_CHARS } from "../../src/audit/log.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const DAY = 86_400_000;

backendTest(
  "audit store: record returns increasing ids; list pages newest first with a cursor and filters",
  async (s) => {
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(
        await s.audit.record({
          source: i % 2 ? "cli" : "api",
          actor: { kind: "token", id: `at_${i % 3}` },
          action: i < 4 ? "sender.create" : "sender.update",
          target: { kind: "sender", id: `s${i}` },
          detail: { fields: ["name"], name: `n${i}` },
        }, T0 + i * 1000),
      );
    }
    deepEqual(ids, [...ids].sort((a, b) => a - b));
    equal(new Set(ids).size, 7);

    const first = await s.audit.list({ limit: 3 });
    deepEqual(first.items.map((r) => r.target_id), ["s6", "s5", "s4"]);
    equal(first.next_before, first.items[2].id);
    const second = await s.audit.list({ limit: 3, before: first.next_before! });
    deepEqual(second.items.map((r) => r.target_id), ["s3", "s2", "s1"]);
    const last = await s.audit.list({ limit: 3, before: second.next_before! });
    deepEqual(last.items.map((r) => r.target_id), ["s0"]);
    equal(last.next_before, null);

    const row = last.items[0];
    deepEqual(row.detail, { fields: ["name"], name: "n0" });
    equal(row.at, new Date(T0).toISOString());
    equal(row.actor_kind, "token");
    equal(row.source, "api");
    equal(typeof row.id, "number");

    deepEqual((await s.audit.list({ actor: "at_1" })).items.map((r) => r.target_id), ["s4", "s1"]);
    deepEqual(
      (await s.audit.list({ action: "sender.update", source: "cli" })).items.map((r) => r.target_id),
      [
        "s5",
      ],
    );
    deepEqual((await s.audit.list({ targetKind: "sender", targetId: "s2" })).items.length, 1);
    deepEqual(
      (await s.audit.list({
        since: new Date(T0 + 2000).toISOString(),
        until: new Date(T0 + 4000).toISOString(),
      }))
        .items.map((r) => r.target_id),
      ["s3", "s2"],
    );
    // A value with SQL in it is a value, not SQL.
    equal((await s.audit.list({ actor: "x' OR '1'='1" })).items.length, 0);

    const all: string[] = [];
    for await (const r of eachAudit(s.audit, { action: "sender.create" })) all.push(r.target_id!);
    deepEqual(all, ["s3", "s2", "s1", "s0"]);
  },
);

backendTest("audit store: text is clipped and a large detail keeps only its field names", async (s) => {
  const big: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) big[`field_${i}`] = "x".repeat(50);
  await s.audit.record({
    source: "console",
    actor: { kind: "env", id: "a".repeat(500) },
    action: "sender.update",
    detail: big,
  }, T0);
  const [row] = (await s.audit.list()).items;
  ok(row.actor.length <= 201, `actor clipped, got ${row.actor.length}`);
  equal(row.target_kind, null);
  equal(row.target_id, null);
  equal(row.detail.truncated, true);
  ok(JSON.stringify(row.detail).length <= MAX_DETAIL_CHARS);
});

backendTest(
  "audit store: purge deletes only rows older than the cutoff, in chunks past one chunk",
  async (s) => {
    for (let i = 0; i < 5_050; i++) {
      await s.audit.record(
        { source: "api", actor: { kind: "token", id: "t" }, action: "old" },
        T0 - 10 * DAY,
      );
    }
    await s.audit.record({ source: "api", actor: { kind: "token", id: "t" }, action: "new" }, T0);
    equal(await s.audit.purge(T0 - DAY), 5_050);
    deepEqual((await s.audit.list()).items.map((r) => r.action), ["new"]);
    equal(await s.audit.purge(T0 - DAY), 0);
  },
);

backendTest(
  "audit store: a row written ahead is completed in place (time, source and actor kept) or dropped",
  async (s) => {
    const actor = { kind: "token" as const, id: "at_1" };
    const ahead = await s.audit.record(
      { source: "api", actor, action: "POST /admin/v1/senders", detail: { status: "unfinished" } },
      T0,
    );
    const refused = await s.audit.record({ source: "api", actor, action: "POST /admin/v1/senders" }, T0 + 1);
    await s.audit.finish(ahead, {
      source: "cli",
      actor: { kind: "cli", id: "someone-else" },
      action: "sender.create",
      target: { kind: "sender", id: "s1" },
      detail: { status: 201, fields: ["sender_id"] },
    });
    await s.audit.drop(refused);
    const { items } = await s.audit.list();
    deepEqual(
      items.map((r) => [r.id, r.at, r.source, r.actor_kind, r.actor, r.action, r.target_kind, r.target_id]),
      [
        [ahead, new Date(T0).toISOString(), "api", "token", "at_1", "sender.create", "sender", "s1"],
      ],
    );
    deepEqual(items[0].detail, { status: 201, fields: ["sender_id"] });
  },
);

backendTest(
  "auditAhead(): the row comes first (no row, no write); an outcome completes it, a refusal drops it, a throw keeps it failed",
  async (s) => {
    const logged: string[] = [];
    const deps = {
      storage: s,
      log: createLogger("error", { sink: (l) => logged.push(l) }),
      clock: { now: () => T0 },
    };
    const ahead = {
      source: "api" as const,
      actor: { kind: "token" as const, id: "at_1" },
      action: "POST /x",
    };
    const done = (id: string) => ({ ...ahead, action: "thing.create", target: { kind: "thing", id } });
    let ran = 0;
    equal(await auditAhead(deps, ahead, () => Promise.resolve(++ran), (n) => done(`t${n}`)), 1);
    equal(await auditAhead(deps, ahead, () => Promise.resolve(++ran), () => undefined), 2);
    const thrown = await auditAhead(
      deps,
      ahead,
      () => Promise.reject(new Error("mid-way")),
      () => done("never"),
    )
      .catch((e) => e);
    equal(thrown.message, "mid-way");
    // An outcome that cannot be read (the answer's body) leaves the row unfinished, logged with its id only.
    equal(
      await auditAhead(deps, ahead, () => Promise.resolve(++ran), () => Promise.reject(new Error("x"))),
      3,
    );
    const audit = s.audit;
    const record = audit.record;
    audit.record = () => Promise.reject(new Error("no room"));
    const unaudited = await auditAhead(deps, ahead, () => Promise.resolve(++ran), () => done("x")).catch((
      e,
    ) => e);
    audit.record = record;
    equal(unaudited.message, "no room");
    equal(ran, 3, "a write whose row could not be written never ran");
    const rows = (await audit.list()).items.map((r) => [r.action, r.target_id, r.detail]);
    deepEqual(rows, [
      ["POST /x", null, { status: "unfinished" }],
      ["POST /x", null, { status: "failed" }],
      ["thing.create", "t1", {}],
    ]);
    deepEqual(logged.map((l) => Object.keys(JSON.parse(l)).sort()), [["err", "id", "level", "msg", "ts"]]);
  },
);
