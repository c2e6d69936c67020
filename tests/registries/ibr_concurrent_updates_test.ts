/**
 * Two IBR enrolment updates of one beneficiary at once, on the real store (SQLite, and PostgreSQL in the `--pg`
 * pass): each adds its own enrolment and both are kept. The interleaving is forced: a barrier holds both updates
 * after their identifier lookup until both have looked up, so both read the record before either writes (what two
 * isolates or two PostgreSQL connections may do). The read-merge-write is one step of the store, so neither update
 * is lost; a beneficiary both create at once is created once, with both enrolments.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { ibrStore } from "../../src/registries/ibr/sql_store.ts";
import { applyEnrollmentUpdates } from "../../src/registries/ibr/enrollment_updates.ts";
import type { IbrStore } from "../../src/registries/ibr/store.ts";
import type { Deps } from "../../src/deps.ts";
import { beneficiaryOf } from "../../src/registries/ibr/details.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NOW = Date.parse("2026-01-01T12:00:00Z");

/** The real store, its first `n` identifier lookups held until all `n` have been made. */
function heldStore(deps: Deps, n: number): IbrStore {
  const store = ibrStore(deps);
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => release = resolve);
  return {
    ...store,
    async findByIdentifier(id, storage, limit) {
      const found = await store.findByIdentifier(id, storage, limit);
      if (arrived < n) {
        if (++arrived === n) release();
        await all;
      }
      return found;
    },
  };
}

function update(receiptType: string, identifier: Json, programme: string) {
  const action = ibrProfile.actions.find((a) => a.path === "/sync/enrollment/updates")!;
  return {
    registry: "ibr",
    senderId: "spmis.example.org",
    header: { message_id: `m-${programme}` },
    message: action.request.parse({
      transaction_id: `t-${programme}`,
      enrolled_updates: {
        receipt_type: receiptType,
        beneficiaries: [{
          member: { member_identifier: [identifier], demographic_info: { name: { surname: "Concurrent" } } },
          programme_identifier: [{
            programme_identifier: programme,
            programme_name: `Programme ${programme}`,
            enrolment_date: "2025-03-01",
            enrolment_status: "Active",
          }],
        }],
      },
    }) as Json,
    correlationId: `c-${programme}`,
    now: NOW,
  };
}

async function both(deps: Deps, receiptType: string, identifier: Json): Promise<string[]> {
  const store = heldStore(deps, 2);
  const answers = await Promise.all(
    ["PRG-A", "PRG-B"].map((p) => applyEnrollmentUpdates(store, update(receiptType, identifier, p))),
  );
  return answers.flatMap((a) => (a.message as Json).enrolled_response.map((i: Json) => i.status));
}

async function programmesOf(deps: Deps, value: string): Promise<string[]> {
  const found = await ibrStore(deps).findByIdentifier({ value }, ["ibr_person"], 10);
  assert.equal(found.length, 1, `one record holds ${value}`);
  return (beneficiaryOf(found[0].details).enrolments ?? []).map((e) => String(e.programme_identifier));
}

Deno.test("IBR enrollment updates: two concurrent updates of one beneficiary both keep their enrolment", async () => {
  const deps = await testDeps({}, { now: NOW });
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const source = [...ibrProfile.demo(0, 1)].map((raw, i) => ({ line: i + 1, raw }));
    const report = await deps.storage.registryLoad.writeAll(source, { now, profile: ibrProfile });
    assert.equal(report.rejectedCount, 0);
    const before = await deps.storage.registry.lastEventId();
    const statuses = await both(deps, "updated", { identifier_type: "NID", identifier_value: "ABC451123" });
    assert.deepEqual(statuses, ["succ", "succ"]);
    assert.deepEqual((await programmesOf(deps, "ABC451123")).sort(), ["DCI001", "PRG-A", "PRG-B"]);
    const events = await deps.storage.registry.eventsAfter(before, { registry: "ibr" });
    assert.equal(events.length, 2, "one event per update");
  } finally {
    deps.close();
  }
});

Deno.test("IBR enrollment updates: a new beneficiary enrolled by two concurrent updates is one record with both enrolments", async () => {
  const deps = await testDeps({}, { now: NOW });
  try {
    const statuses = await both(deps, "enrolled", {
      identifier_type: "UIN",
      identifier_value: "NEW-CONCURRENT-1",
    });
    assert.deepEqual(statuses, ["succ", "succ"]);
    assert.deepEqual((await programmesOf(deps, "NEW-CONCURRENT-1")).sort(), ["PRG-A", "PRG-B"]);
  } finally {
    deps.close();
  }
});
