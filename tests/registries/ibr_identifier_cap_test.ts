/**
 * The identifier and member caps on every path that writes a record: the input reader refuses more than
 * MAX_IDENTIFIERS distinct identifiers (de-duplicating in one pass, so 150,000 ids cost milliseconds, not a stalled
 * isolate), and so the admin API, an import and an IBR enrolment update all refuse such a record with their usual
 * invalid-input answer; an IBR group's member_list is capped at MAX_GROUP_MEMBERS; an update repeating a
 * beneficiary's identifiers does not grow its list.
 */
import assert from "node:assert/strict";
import { harness } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { InputError, MAX_IDENTIFIERS, readRegistrant } from "../../src/registry/model.ts";
import { MAX_GROUP_MEMBERS } from "../../src/registries/ibr/schemas.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const NOW = "2026-01-01T00:00:00.000Z";
const BASE = "/dci_api/v1/ibr/registry";

function ids(n: number, type = "NID"): Json[] {
  return Array.from({ length: n }, (_, i) => ({ identifier_type: type, identifier_value: `V-${i}` }));
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  assert.fail("not refused");
}

Deno.test("readRegistrant() refuses more than MAX_IDENTIFIERS distinct identifiers, and de-duplicates", () => {
  assert.equal(MAX_IDENTIFIERS, 50);
  const at = readRegistrant({ id: "P-1", identifier: ids(MAX_IDENTIFIERS) }, NOW, undefined, ibrProfile);
  assert.equal(at.identifiers.length, MAX_IDENTIFIERS);
  // Repeats (also as another spelling of the type) count once and keep the first order.
  const repeated = readRegistrant(
    {
      id: "P-2",
      identifier: [...ids(MAX_IDENTIFIERS), ...ids(MAX_IDENTIFIERS, "urn:dci:id:nid"), ...ids(3)],
    },
    NOW,
    undefined,
    ibrProfile,
  );
  assert.deepEqual(repeated.identifiers, at.identifiers);
  const over = refusal(() =>
    readRegistrant({ id: "P-3", identifier: ids(MAX_IDENTIFIERS + 1) }, NOW, undefined, ibrProfile)
  );
  assert.match(over, /identifier: more than 50 distinct identifiers \(51 given\)/);
  // The social reader is the same one.
  assert.match(refusal(() => readRegistrant({ identifier: ids(51, "UIN") }, NOW)), /more than 50 distinct/);
});

Deno.test("readRegistrant() answers 150,000 identifiers at once (distinct or repeated), refusing the distinct ones", () => {
  const started = performance.now();
  const distinct = refusal(() => readRegistrant({ identifier: ids(150_000) }, NOW, undefined, ibrProfile));
  assert.match(distinct, /more than 50 distinct identifiers \(150000 given\)/);
  const same = Array.from({ length: 150_000 }, (_, i) => ({ type: "UIN", value: `U-${i % 2}` }));
  assert.equal(readRegistrant({ identifier: same }, NOW).identifiers.length, 2);
  const malformed = refusal(() => readRegistrant({ identifier: Array(150_000).fill({}) }, NOW));
  assert.equal(malformed.split("; ").length, 5, "only the first malformed entries are named");
  // Not a timing of the code (0.2–0.5 s under CI load): a pass that compared every identifier with every other one
  // (~10^10 steps) would take minutes, far past this backstop on the slowest machine.
  assert.ok(performance.now() - started < 30_000, `${Math.round(performance.now() - started)} ms`);
});

Deno.test("the identifier cap holds on every write path: admin API, import and IBR enrolment updates", async () => {
  const h = await harness();
  try {
    const { token } = await h.deps.storage.adminTokens.create({ role: "admin" });
    const count = async () =>
      Number((await h.deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'ibr'"))[0].n);
    for (const [method, path] of [["PUT", "/P-ADMIN"], ["POST", ""]]) {
      const res = await h.app.request(`/admin/v1/registries/ibr/registrants${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ id: "P-ADMIN", record_type: "Beneficiary", identifier: ids(51) }),
      });
      assert.equal(res.status, 400, `${method} ${path}`);
      assert.match(JSON.stringify(await res.json()), /more than 50 distinct identifiers/);
    }
    const now = () => NOW;
    const report = await h.deps.storage.registryLoad.writeAll(
      [{ line: 1, raw: { id: "P-IMPORT", record_type: "Beneficiary", identifier: ids(51) } }],
      { now, profile: ibrProfile },
    );
    assert.equal(report.rejectedCount, 1);
    assert.match(JSON.stringify(report.rejected), /more than 50 distinct identifiers/);
    assert.equal(await count(), 0, "nothing written");

    // One ~1 MiB enrolment update: one beneficiary naming 148,000 member ids (numbers: MEMBER_ID each).
    const sp = await createTestSender(h.deps, { scopes: ["registry.search", "registry.enrollment"] });
    const member_identifier = Array.from({ length: 148_000 }, (_, i) => 100_000 + i);
    const message = {
      transaction_id: "t-big",
      enrolled_updates: {
        beneficiaries: [{
          member: { member_identifier, demographic_info: { name: { surname: "Big" } } },
          programme_identifier: [{ programme_identifier: "DCI001", enrolment_status: "Active" }],
        }],
      },
    };
    const env = requestEnvelope(sp.senderId, message, {
      action: "notify",
      nowMs: h.deps.clock.now(),
      totalCount: 1,
    });
    const body = JSON.stringify(sp.sign(env, h.deps.clock.now()));
    assert.ok(body.length > 1_000_000 && body.length <= 1_048_576, `${body.length} bytes`);
    const res = await h.app.request(`${BASE}/sync/enrollment/updates`, {
      method: "POST",
      headers: { "content-type": "application/json", ...sp.headers() },
      body,
    });
    // Refused before it is parsed or its signature checked: no array of a legal message is that wide.
    const answer = await res.json();
    assert.equal(res.status, 400, JSON.stringify(answer).slice(0, 500));
    assert.equal(answer.message.error.code, "err.request.bad");
    assert.match(answer.message.error.message, /more than 1024 members/);
    assert.equal(await count(), 0, "nothing written");
  } finally {
    h.close();
  }
});

Deno.test("IBR enrolment updates: repeated identifiers do not grow a beneficiary's list; a long member_list is refused", async () => {
  const h = await harness();
  try {
    const now = () => NOW;
    await h.deps.storage.registryLoad.writeAll(
      [...ibrProfile.demo(0, 1)].map((raw, i) => ({ line: i + 1, raw })),
      { now, profile: ibrProfile },
    );
    const sp = await createTestSender(h.deps, { scopes: ["registry.search", "registry.enrollment"] });
    const post = async (beneficiaries: Json[]) => {
      const env = requestEnvelope(sp.senderId, { transaction_id: "t", enrolled_updates: { beneficiaries } }, {
        action: "notify",
        nowMs: h.deps.clock.now(),
        totalCount: beneficiaries.length,
      });
      const res = await h.app.request(`${BASE}/sync/enrollment/updates`, {
        method: "POST",
        headers: { "content-type": "application/json", ...sp.headers() },
        body: JSON.stringify(sp.sign(env, h.deps.clock.now())),
      });
      assert.equal(res.status, 200);
      return (await res.json()).message.enrolled_response as Json[];
    };
    const member = {
      member_identifier: [
        { identifier_type: "NID", identifier_value: "ABC451123" },
        { identifier_type: "UIN", identifier_value: "BENEFICIARY-TEST-001" },
        { identifier_type: "NID", identifier_value: "ABC451123" },
      ],
    };
    const programme_identifier = [{
      programme_identifier: "DCI001",
      programme_name: "Test Programme",
      enrolment_date: "2024-02-02",
      enrolment_status: "Active",
    }];
    for (let i = 0; i < 3; i++) {
      const answered = await post([{ member, programme_identifier }]);
      assert.deepEqual(answered.map((r) => r.status), ["succ"], JSON.stringify(answered));
    }
    const stored = await h.deps.storage.registry.get("IBR-TEST-001", "ibr");
    assert.equal(stored?.identifiers.length, 2);

    const group = (n: number) => ({
      group: {
        group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: `HH-${n}` }],
        member_list: Array.from({ length: n }, (_, i) => ({
          member_identifier: [{ identifier_type: "UIN", identifier_value: `HH-${n}-M-${i}` }],
        })),
      },
      programme_identifier,
    });
    const before = await h.deps.storage.registry.counts("ibr");
    const [refused] = await post([group(MAX_GROUP_MEMBERS + 1)]);
    assert.equal(refused.status, "rjct");
    assert.match(refused.status_reason_message, /group\.member_list: more than 100 members \(101 given\)/);
    assert.deepEqual(await h.deps.storage.registry.counts("ibr"), before, "nothing written");
    assert.deepEqual((await post([group(3)])).map((r) => r.status), ["succ"]);
  } finally {
    h.close();
  }
});
