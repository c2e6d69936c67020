import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import {
  jsonLimitBroken,
  jsonTooDeep,
  MAX_JSON_MEMBERS,
  MAX_JSON_VALUES,
  parseBoundedJson,
  valuesCap,
} from "../../src/http/json_depth.ts";
import { ibrDemo } from "../../src/registries/ibr/demo.ts";

const zeros = (n: number) => `[${Array(n).fill(0).join(",")}]`;
const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(",")}}`;

/** A search item of `query`, as the probes and partners send them. */
function item(query: unknown) {
  return {
    reference_id: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    search_criteria: {
      version: "1.0.0",
      reg_type: "ns:org:RegistryType:Social",
      reg_record_type: "SRPerson",
      query_type: "predicate",
      query,
      sort: [{ attribute_name: "birth_date", sort_order: "asc" }],
      pagination: { page_size: 10, page_number: 1 },
    },
  };
}

const SEX = [{ seq_num: 1, expression1: { attribute_name: "sex", operator: "eq", attribute_value: "male" } }];

/** A query at the caps: 64 comparisons, each an `in` of 15 dates (~1,000 parameters). */
const WIDEST_QUERY = Array.from({ length: 64 }, (_, i) => ({
  seq_num: i + 1,
  expression1: {
    attribute_name: "birth_date",
    operator: "in",
    attribute_value: Array.from({ length: 15 }, (_, j) => `19${50 + j}-01-0${1 + (i % 9)}`),
  },
  condition: "or",
}));

Deno.test("jsonLimitBroken() counts the members of each array and object, commas in strings aside", () => {
  assert.equal(jsonLimitBroken(zeros(MAX_JSON_MEMBERS)), undefined);
  assert.equal(jsonLimitBroken(zeros(MAX_JSON_MEMBERS + 1)), "members");
  assert.equal(jsonLimitBroken(keys(MAX_JSON_MEMBERS)), undefined);
  assert.equal(jsonLimitBroken(`{"a":[],"b":${keys(MAX_JSON_MEMBERS + 1)}}`), "members");
  // Each array counts its own members: two of 1,000 side by side are not one of 2,000.
  assert.equal(jsonLimitBroken(`[${zeros(1000)},${zeros(1000)}]`), undefined);
  assert.equal(jsonLimitBroken(JSON.stringify([",".repeat(5000), { a: ",,,," }])), undefined);
  assert.equal(jsonLimitBroken(zeros(5000), { maxMembers: Infinity }), undefined);
});

Deno.test("jsonLimitBroken() counts the values of the whole text, nested ones included", () => {
  const arrays = (n: number) => `[${Array(n).fill(zeros(1000)).join(",")}]`;
  // n arrays of 1,000: n * 1,001 values with the outer array.
  assert.equal(jsonLimitBroken(arrays(Math.floor(MAX_JSON_VALUES / 1001))), undefined);
  assert.equal(jsonLimitBroken(arrays(Math.ceil(MAX_JSON_VALUES / 1001))), "values");
  assert.equal(jsonLimitBroken(arrays(60), { maxValues: 60_061 }), undefined);
  // The depth rule is still its own: a wide text is not "too deep".
  assert.equal(jsonTooDeep(arrays(60)), false);
  assert.equal(jsonTooDeep("[".repeat(65) + "]".repeat(65)), true);
});

Deno.test("jsonLimitBroken() lets the largest legal messages through", () => {
  const envelope = (message: unknown) => JSON.stringify({ header: { sender_id: "s" }, message });
  const search = (items: unknown[]) => envelope({ transaction_id: "t", search_request: items });
  assert.equal(jsonLimitBroken(search(Array.from({ length: 10 }, () => item(WIDEST_QUERY)))), undefined);
  assert.equal(jsonLimitBroken(search(Array.from({ length: 1000 }, () => item(SEX)))), undefined);
  const beneficiaries = [...ibrDemo(3000, 1)].filter((r) => r.record_type !== "Programme").slice(0, 1000);
  assert.equal(beneficiaries.length, 1000);
  const update = envelope({
    transaction_id: "t",
    enrolled_updates: { receipt_type: "updated", beneficiaries },
  });
  assert.equal(jsonLimitBroken(update), undefined);
});

Deno.test("a signed search too wide is refused 400 before its signature is checked; the widest legal one is answered", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const post = (message: Record<string, unknown>, sign = true) => {
      const env = requestEnvelope(alice.senderId, message, {
        nowMs: deps.clock.now(),
        totalCount: (message.search_request as unknown[]).length,
      });
      return app.request("/registry/sync/search", {
        method: "POST",
        headers: { "content-type": "application/json", ...alice.headers() },
        body: JSON.stringify(sign ? alice.sign(env) : { ...env, signature: alice.sign(env).signature + "x" }),
      });
    };
    const manyKeys = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, i]));
    const sorts = Array.from({ length: 20_000 }, () => ({ attribute_name: "birth_date", sort_order: "asc" }));
    const arrays = Array.from({ length: 140 }, () => Array(1000).fill(0)); // 140,000: past 1 MiB / 8
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["60k-key object", { search_request: [item(SEX)], extra: manyKeys }, /more than 1024 members/],
      ["150k-element array", { search_request: [item(SEX)], extra: Array(150_000).fill(0) }, /1024 members/],
      ["20k sort keys", { search_request: [{ ...item(SEX), sort: sorts }] }, /1024 members/],
      ["140 arrays of 1,000", { search_request: [item(SEX)], extra: arrays }, /more than 131072 values/],
    ];
    for (const [name, message, rule] of cases) {
      // Signed or not, the answer is the same: nothing was parsed or verified.
      for (const sign of [true, false]) {
        const res = await post({ transaction_id: "t-wide", ...message }, sign);
        const body = await res.json();
        assert.equal(res.status, 400, `${name}: ${JSON.stringify(body).slice(0, 300)}`);
        assert.equal(body.message.error.code, "err.request.bad", name);
        assert.match(body.message.error.message, rule, name);
      }
    }
    const widest = await post({
      transaction_id: "t-widest",
      search_request: Array.from({ length: 10 }, () => item(WIDEST_QUERY)),
    });
    const answer = await widest.json();
    assert.equal(widest.status, 200, JSON.stringify(answer).slice(0, 300));
    assert.equal(answer.message.search_response.length, 10);
    for (const r of answer.message.search_response) {
      assert.equal(r.status, "succ", JSON.stringify(r).slice(0, 300));
    }
  } finally {
    deps.close();
  }
});

Deno.test("a long string does not hide a width the body breaks; the values cap grows with the body limit", () => {
  const wide = `{"a":"${"x".repeat(20)}","b":[${Array(2000).fill(0).join(",")}]}`;
  assert.equal(jsonLimitBroken(wide, { maxString: 10 }), "members", "the width, found after the long string");
  assert.equal(jsonLimitBroken(`{"a":"${"x".repeat(20)}"}`, { maxString: 10 }), "string");
  assert.equal(valuesCap(1024), MAX_JSON_VALUES);
  assert.equal(valuesCap(1_048_576), 131_072);
  assert.equal(valuesCap(10 * 1_048_576), 1_310_720);
});

Deno.test("jsonLimitBroken() flags a number that may not be finite, outside strings only; parseBoundedJson names it", () => {
  assert.equal(jsonLimitBroken('{"a":1e999}'), "number");
  assert.equal(jsonLimitBroken('{"a":-1E+0400}'), "number");
  assert.equal(jsonLimitBroken(`{"a":${"9".repeat(301)}}`), "number");
  assert.equal(jsonLimitBroken('{"a":1e99,"b":true,"c":false,"d":"1e999","e":0.5e-400}'), undefined);
  const refused = parseBoundedJson('{"a":[1,{"b":-1e999}]}', { maxString: 100 });
  assert.deepEqual(refused, {
    ok: false,
    malformed: false,
    reason: "a.1.b is a number too large to be finite",
  });
  // Flagged, but finite once parsed: let through.
  assert.deepEqual(parseBoundedJson('{"a":0.001e300}', { maxString: 100 }), {
    ok: true,
    value: { a: 1e297 },
  });
});
