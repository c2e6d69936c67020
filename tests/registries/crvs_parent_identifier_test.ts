/**
 * crvs `parent_identifier` has no rows of its own (ProfileAttribute.storedAs): it is answered from the
 * `parent1_identifier` / `parent2_identifier` rows. A search by it returns exactly the records one of whose
 * parents has the value (eq, in, ne, contains, and beside another attribute, where the intersection drives), and a
 * subscription filtered on it is notified of a birth that names the parent second.
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { harness } from "../transactions/support.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { readRegistrant, type Registrant } from "../../src/registry/model.ts";
import { migrate } from "../../src/db/migrate.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { crvsDetails } from "../../src/registries/crvs/details.ts";
import type { Deps } from "../../src/deps.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The external ids of the records each parent identifier value appears on, read from the stored records. */
async function parentsOf(deps: TestDeps): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const row of await deps.sql("SELECT data FROM registrant_data")) {
    // SQLite stores the record as JSON text, PostgreSQL as jsonb (an object here).
    const reg = (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as Registrant;
    const d = crvsDetails(reg.details);
    for (const id of [d.parent1_identifier?.value, d.parent2_identifier?.value]) {
      if (id === undefined) continue;
      const set = out.get(id) ?? new Set<string>();
      set.add(reg.externalId);
      out.set(id, set);
    }
  }
  return out;
}

/** The sorted external ids a predicate search finds (every page of at most 100). */
async function search(deps: TestDeps, terms: Array<[string, string, unknown]>): Promise<string[]> {
  const found: string[] = [];
  for (let page = 1;; page++) {
    const o = await deps.storage.search.message(deps, {
      registry: "crvs",
      header: { version: "1.0.0", action: "search", total_count: 1 },
      message: {
        transaction_id: "t",
        search_request: [{
          reference_id: "r",
          timestamp: "2026-03-01T10:00:00Z",
          search_criteria: {
            reg_record_type: "CRVS_Person",
            query_type: "predicate",
            query: terms.map(([attribute_name, operator, attribute_value], i) => ({
              seq_num: i + 1,
              expression1: { attribute_name, operator, attribute_value },
              ...(i < terms.length - 1 ? { condition: "and" } : {}),
            })),
            pagination: { page_size: 100, page_number: page },
          },
        }],
      },
    }) as Json;
    const item = o.message.search_response[0];
    assert.equal(item.status, "succ", JSON.stringify(item));
    const records = item.data?.reg_records ?? [];
    for (const r of records) found.push(r["@id"]);
    if (records.length < 100) return found.sort();
  }
}

Deno.test({
  name:
    "crvs parent_identifier: no rows of its own, and a search by it finds exactly the records of either parent",
}, async () => {
  const deps = await testDeps();
  try {
    const report = await deps.storage.registryLoad.writeAll(demoSource(crvsProfile, 400, 5), {
      now: () => new Date(deps.clock.now()).toISOString(),
      profile: crvsProfile,
      batchSize: 120,
    });
    assert.equal(report.rejectedCount, 0, JSON.stringify(report.rejected));
    const count = async (attr: string) =>
      Number((await deps.sql("SELECT COUNT(*) AS n FROM registrant_values WHERE attr = ?", [attr]))[0].n);
    assert.equal(await count("parent_identifier"), 0, "the union is not stored");
    assert.ok(await count("parent1_identifier") > 50 && await count("parent2_identifier") > 50);

    const byParent = await parentsOf(deps);
    const values = [...byParent.keys()].sort();
    assert.ok(values.length > 50, `the demo has parents (${values.length})`);
    const all = (await deps.sql("SELECT external_id AS e FROM registrants WHERE registry = 'crvs'"))
      .map((r) => String(r.e)).sort();
    const ids = (...vs: string[]) => [...new Set(vs.flatMap((v) => [...byParent.get(v) ?? []]))].sort();
    for (const v of [values[0], values[7], values[values.length - 1], "PARENT-TEST-002"]) {
      assert.deepEqual(await search(deps, [["parent_identifier", "eq", v]]), ids(v), `eq ${v}`);
      assert.deepEqual(await search(deps, [["parent_id", "eq", v]]), ids(v), `the alias, eq ${v}`);
      const without = new Set(ids(v));
      assert.deepEqual(
        await search(deps, [["parent_identifier", "ne", v]]),
        all.filter((id) => !without.has(id)),
        `ne ${v}`,
      );
    }
    const some = [values[1], values[2], values[3]];
    assert.deepEqual(await search(deps, [["parent_identifier", "in", some]]), ids(...some));
    assert.deepEqual(await search(deps, [["parent_identifier", "contains", "PARENT-TEST"]]), [
      "CRVS-TEST-BIRTH",
    ]);
    // Two registry attributes: the most selective drives, the union is probed (and the other way round).
    const births = new Set(await search(deps, [["vital_event_type", "eq", "live_birth"]]));
    for (const v of [values[4], "PARENT-TEST-001"]) {
      const want = ids(v).filter((id) => births.has(id));
      assert.ok(want.length > 0, v);
      assert.deepEqual(
        await search(deps, [["vital_event_type", "eq", "live_birth"], ["parent_identifier", "eq", v]]),
        want,
      );
      assert.deepEqual(
        await search(deps, [["parent_identifier", "in", [v, "NOBODY"]], [
          "vital_event_type",
          "eq",
          "live_birth",
        ]]),
        want,
      );
    }
  } finally {
    deps.close();
  }
});

/** Registers a crvs record (input shape), recording the registry event. */
async function putPerson(deps: Deps, raw: Json): Promise<void> {
  const now = new Date(deps.clock.now()).toISOString();
  await deps.storage.registry.save(readRegistrant(raw, now, undefined, crvsProfile), { mode: "upsert", now });
}

function birth(id: string, parents: { parent1?: string; parent2?: string }): Json {
  const parent = (v?: string) => v && { identifier_type: "UIN", identifier_value: v };
  return {
    id,
    identifier: [{ identifier_type: "BRN", identifier_value: `BRN-${id}` }],
    name: { given_name: "Nia", surname: "Mensah" },
    sex: "female",
    birth_date: "2025-12-01",
    details: {
      birth_place: "Riverside",
      ...(parents.parent1 ? { parent1_identifier: parent(parents.parent1) } : {}),
      ...(parents.parent2 ? { parent2_identifier: parent(parents.parent2) } : {}),
    },
  };
}

Deno.test("crvs subscription filtered on parent_identifier: notified of the births naming that parent first or second", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const sender = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = new Date(h.deps.clock.now()).toISOString();
    const sub = await h.post("/dci_api/v1/crvs/registry/subscribe", {
      transaction_id: "crvs-parent-sub",
      subscribe_request: [{
        reference_id: "children-of-u7",
        timestamp: now,
        subscribe_criteria: {
          reg_type: "ns:org:RegistryType:Civil",
          reg_event_type: "LiveBirth",
          notify_record_type: "CRVS_Person",
          filter_type: "predicate",
          filter: [{
            expression1: { attribute_name: "parent_identifier", operator: "eq", attribute_value: "U-7" },
          }],
        },
      }],
    }, { sender, senderUri: "https://rx.example/cb" });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    await h.drain();
    const sent = (suffix: string) =>
      h.http.sent.filter((s) => s.url.endsWith(suffix)).map((s) => s.body as Json);
    assert.deepEqual(
      sent("/registry/on-subscribe")[0].message.subscribe_response.map((i: Json) => i.status),
      [
        "succ",
      ],
    );
    await putPerson(h.deps, birth("B-FIRST", { parent1: "U-7", parent2: "U-8" }));
    await putPerson(h.deps, birth("B-OTHER", { parent1: "U-9", parent2: "U-8" }));
    await putPerson(h.deps, birth("B-SECOND", { parent1: "U-9", parent2: "U-7" }));
    await putPerson(h.deps, birth("B-NONE", {}));
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notified = sent("/registry/notify").map((n) => n.message.notify_event[0].data.reg_records["@id"]);
    assert.deepEqual(notified.sort(), ["B-FIRST", "B-SECOND"]);
  } finally {
    h.close();
  }
});

// A SQLite schema upgrade (PostgreSQL's schema starts past it): SQLite's own.
Deno.test({
  name: "migration 0024 deletes the parent_identifier rows a data dir stored before",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await testDeps();
  try {
    const report = await deps.storage.registryLoad.writeAll(demoSource(crvsProfile, 20, 1), {
      now: () => new Date(deps.clock.now()).toISOString(),
      profile: crvsProfile,
    });
    assert.equal(report.rejectedCount, 0);
    // As the import wrote them before: a copy of each parent's row.
    deps.db.exec(`INSERT INTO registrant_values (attr, value, registrant_id)
      SELECT 'parent_identifier', value, registrant_id FROM registrant_values
      WHERE attr IN ('parent1_identifier', 'parent2_identifier')`);
    deps.db.exec("DELETE FROM schema_migrations WHERE version = 24");
    assert.deepEqual(migrate(deps.db), ["0024_parent_identifier_rows"]);
    const n = deps.db.prepare("SELECT COUNT(*) AS n FROM registrant_values WHERE attr = 'parent_identifier'")
      .get() as { n: number };
    assert.equal(Number(n.n), 0);
    assert.deepEqual(await search(deps, [["parent_identifier", "eq", "PARENT-TEST-002"]]), [
      "CRVS-TEST-BIRTH",
    ]);
  } finally {
    deps.close();
  }
});
