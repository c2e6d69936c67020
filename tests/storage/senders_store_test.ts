/**
 * The sender store, the same contract on both backends, and the sender services over it (deleting and offboarding:
 * senders_delete_store_test.ts).
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { instancesTest, senderDeps } from "../helpers/two_instances.ts";
import { SenderError } from "../../src/senders/errors.ts";
import type { SenderColumns } from "../../src/senders/sender_store.ts";
import {
  addSender,
  deliverySender,
  getSender,
  listSenders,
  setSenderActive,
  updateSender,
} from "../../src/senders/store.ts";
import { testConfig } from "../../src/config.ts";
import { pageSenders } from "../../src/senders/listing.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const cols = (extra: SenderColumns = {}): SenderColumns => ({
  name: "n",
  created_at: NOW,
  updated_at: NOW,
  ...extra,
});
const refusedAs = (kind: string, re?: RegExp) => (e: unknown) =>
  e instanceof SenderError && e.kind === kind && (!re || re.test(e.message));

backendTest("sender store: a row comes back with the same values and types on both backends", async (s) => {
  const row = await s.senders.insert(
    "partner.example",
    cols({ limit_minute: 60, auto_approve_subscriptions: 1 }),
  );
  deepEqual(await s.senders.get("partner.example"), row);
  const expected: Record<string, unknown> = {
    sender_id: "partner.example",
    name: "n",
    active: 1,
    callback_base_url: null,
    jwks_url: null,
    limit_minute: 60,
    limit_day: null,
    auto_approve_subscriptions: 1,
    keys_version: 0,
    jwks_fetched_at: null,
    jwks_fetch_status: null,
    jwks_fetch_error: null,
    created_at: NOW,
    updated_at: NOW,
    signature_policy: null,
    signature_max_window_s: null,
    test_mode: 0,
    lenient: "",
    callback_url_mode: "append",
    outbound_auth: "none",
    outbound_token_url: null,
    outbound_client_id: null,
    outbound_scope: null,
    outbound_secret: null,
  };
  deepEqual({ ...row }, expected);
  equal(await s.senders.get("nobody"), undefined);
  // A column name that is not a sender column never reaches SQL.
  await rejects(() => s.senders.insert("x", { "name) VALUES ('a'); --": "x" }), /no writable column/);
  await rejects(() => s.senders.update("partner.example", { keys_version: 9 }), /no writable column/);
});

backendTest(
  "sender store: list and pages are in binary id order; ids differing by case alone conflict",
  async (s) => {
    for (const id of ["b.example", "B.example", "_x", "a.example", "Z"]) {
      if (id === "B.example") {
        await rejects(
          () => s.senders.insert(id, cols()),
          refusedAs("conflict", /"B.example" differs only by case from the existing sender "b.example"/),
        );
        continue;
      }
      await s.senders.insert(id, cols({ name: `Name of ${id}` }));
    }
    await rejects(() => s.senders.insert("Z", cols()), refusedAs("conflict", /"Z" already exists/));
    deepEqual((await s.senders.list()).map((r) => r.sender_id), ["Z", "_x", "a.example", "b.example"]);
    const page = await s.senders.page({ pattern: null, active: null, after: "Z", limit: 2 });
    deepEqual(page.map((r) => r.sender_id), ["_x", "a.example"]);
    deepEqual(
      (await s.senders.page({ pattern: null, active: null, after: "a.example", limit: 9 })).map((r) =>
        r.sender_id
      ),
      [
        "b.example",
      ],
    );
  },
);

backendTest(
  "sender store: page filters by id or name, case-insensitively, with % and _ as plain text",
  async (s) => {
    await s.senders.insert("alpha.example", cols({ name: "Ministry of Health" }));
    await s.senders.insert("beta.example", cols({ name: "100% Fund", active: 0 }));
    await s.senders.insert("gamma_x", cols({ name: "g" }));
    await s.senders.insert("gammaXx", cols({ name: "g" }));
    const ids = async (pattern: string | null, active: 0 | 1 | null = null) =>
      (await s.senders.page({ pattern, active, after: "", limit: 10 })).map((r) => r.sender_id);
    deepEqual(await ids("%HEALTH%"), ["alpha.example"]);
    deepEqual(await ids("%ALPHA%"), ["alpha.example"]);
    deepEqual(await ids("%\\%%"), ["beta.example"]);
    deepEqual(await ids("%a\\_x%"), ["gamma_x"]);
    deepEqual(await ids(null, 0), ["beta.example"]);
    // Binary order: "X" (0x58) sorts before "_" (0x5f), whatever the database's collation.
    deepEqual(await ids(null, 1), ["alpha.example", "gammaXx", "gamma_x"]);
    deepEqual(await ids("%example%", 1), ["alpha.example"]);
    // The service escapes what an operator types the same way.
    const deps = senderDeps(s);
    deepEqual((await pageSenders(deps, { search: "_x" })).senders.map((x) => x.sender_id), ["gamma_x"]);
    const first = await pageSenders(deps, { limit: 2 });
    deepEqual(first.senders.map((x) => x.sender_id), ["alpha.example", "beta.example"]);
    equal(first.next, "beta.example");
    equal((await pageSenders(deps, { limit: 2, after: first.next })).next, undefined);
  },
);

backendTest(
  "sender store: update writes the given columns and returns the row; an unknown sender is undefined",
  async (s) => {
    await s.senders.insert("s1", cols());
    const row = await s.senders.update("s1", {
      name: "New",
      limit_day: 5,
      updated_at: "2026-01-02T00:00:00.000Z",
    });
    equal(row!.name, "New");
    equal(row!.limit_day, 5);
    equal(row!.updated_at, "2026-01-02T00:00:00.000Z");
    equal(await s.senders.update("nobody", { name: "x" }), undefined);
    equal(await s.senders.standing("s1"), "active");
    await s.senders.update("s1", { active: 0 });
    equal(await s.senders.standing("s1"), "disabled");
    equal(await s.senders.standing("nobody"), "deleted");
    const outbound = async (id: string) => {
      const row = await s.senders.get(id);
      return row && deliverySender({ config: testConfig() }, row).outbound;
    };
    deepEqual(await outbound("s1"), {
      outbound_auth: "none",
      outbound_token_url: null,
      outbound_client_id: null,
      outbound_scope: null,
      outbound_secret: null,
    });
    const oauth = {
      outbound_auth: "oauth2",
      outbound_token_url: "https://idp.example/token",
      outbound_client_id: "dci",
      outbound_scope: null,
      outbound_secret: "sealed:v1:abc",
    };
    await s.senders.update("s1", oauth);
    deepEqual(await outbound("s1"), oauth);
  },
);

backendTest(
  "sender services: add, update, enable and disable read and write through the store",
  async (s) => {
    const deps = senderDeps(s);
    const added = await addSender(deps, "partner.example", { name: "Partner", limit_minute: 7 });
    equal(added.active, true);
    equal(added.limit_minute, 7);
    equal(added.limit_day, deps.config.rateLimitDay);
    equal(added.auto_approve_subscriptions, false);
    await rejects(() => addSender(deps, "PARTNER.example", {}), refusedAs("conflict"));
    await rejects(() => addSender(deps, "bad id", {}), refusedAs("invalid"));
    const updated = await updateSender(deps, "partner.example", {
      auto_approve_subscriptions: true,
      test_mode: true,
      lenient: ["total_count"],
      limit_minute: null,
    });
    equal(updated.auto_approve_subscriptions, true);
    equal(updated.test_mode, true);
    deepEqual(updated.lenient, ["total_count"]);
    equal(updated.limit_minute, deps.config.rateLimitMinute);
    await rejects(() => updateSender(deps, "nobody", { name: "x" }), refusedAs("not_found"));
    equal((await setSenderActive(deps, "partner.example", false)).active, false);
    await rejects(() => setSenderActive(deps, "nobody", false), refusedAs("not_found"));
    deepEqual(await getSender(deps, "partner.example"), (await listSenders(deps))[0]);
  },
);

instancesTest(
  "sender store: two instances adding ids differing by case at once: exactly one is registered",
  async (t) => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        t.a.senders.insert(`race${round}.example`, cols()),
        t.b.senders.insert(`RACE${round}.example`, cols()),
      ]);
      equal(results.filter((r) => r.status === "fulfilled").length, 1, `round ${round}`);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      ok(refusedAs("conflict")(refused.reason), String(refused.reason));
    }
    equal((await t.a.senders.list()).length, 5);
  },
);
