/**
 * Input caps (issue 11, item 2): every validator and parser that reads what senders, admins or import files send
 * is fed 1 MB pathological strings (the worst case of each pattern it applies) and must return with a rejection.
 * No timing is asserted here: bench/input_caps.ts measures it. A quadratic pattern (e.g. `/T.*(Z|…)$/` on 'T'×1e6)
 * would not return at all within a test run.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { input } from "../subscriptions/helpers.ts";
import { createApp } from "../helpers/app.ts";
import { signedPoster } from "./support.ts";
import { DateTime, RequestHeader } from "../../src/dci/schemas.ts";
import { subscribeProcessor, unsubscribeProcessor } from "../../src/subscriptions/processors.ts";
import { localeOf, normaliseEventType, notifyUrl, subscriptionTime } from "../../src/subscriptions/rules.ts";
import { callbackUrl } from "../../src/transactions/callback.ts";
import { trimTrailingSlashes } from "../../src/dci/callback_url.ts";
import { parseSignature } from "../../src/auth/envelope_signature.ts";
import {
  checkContentDigest,
  parseSignatureHeader,
  parseSignatureInput,
} from "../../src/auth/http_signature.ts";
import { InputError, readRegistrant } from "../../src/registry/model.ts";
import { normaliseDate, normaliseIdType, normaliseSex } from "../../src/registry/attributes.ts";
import { csvRows } from "../../src/registry/csv.ts";
import { lines } from "../../src/registry/sources.ts";
import { parseJwks } from "../../src/senders/jwks_fetch.ts";
import { SenderError } from "../../src/senders/store.ts";
import { addSender } from "../../src/senders/store.ts";
import { parseQuery, QueryError } from "../../src/registry/query_parse.ts";

const MB = 1_000_000;
const T = "T".repeat(MB);
const ZEROS = "0".repeat(MB);
const SLASHES = "/".repeat(MB);
const SPACES = " ".repeat(MB);
/** The shapes that make backtracking patterns slow: runs that almost match, then fail at the very end. */
const PATHOLOGICAL: Record<string, string> = {
  "T×1e6": T,
  "0×1e6": ZEROS,
  "-×1e6": "-".repeat(MB),
  "/×1e6+x": `${SLASHES}x`,
  "date + fraction 0×1e6 + x": `2026-01-01T00:00:00.${ZEROS}x`,
  "T + 0×1e6 + +0": `T${ZEROS}+0`,
  "space×1e6 + x": `${SPACES}x`,
  "é×1e6": "é".repeat(MB),
  "NUL×1e6": "\0".repeat(MB),
};

async function* chunks(...parts: string[]): AsyncGenerator<string> {
  for (const p of parts) yield p;
}

Deno.test("DateTime and RequestHeader refuse 1 MB strings on the length cap before any pattern runs", () => {
  for (const [name, s] of Object.entries(PATHOLOGICAL)) {
    const r = DateTime.safeParse(s);
    assert.equal(r.success, false, name);
    assert.equal(r.error!.issues[0].code, "too_big", name);
    const h = RequestHeader.safeParse({
      version: s,
      message_id: s,
      message_ts: s,
      action: s,
      sender_id: s,
      sender_uri: s,
      receiver_id: s,
      total_count: 1,
    });
    assert.equal(h.success, false, name);
    const paths = new Set(h.error!.issues.map((i) => i.path.join(".")));
    for (
      const f of ["version", "message_id", "message_ts", "action", "sender_id", "sender_uri", "receiver_id"]
    ) {
      assert.ok(paths.has(f), `${name}: ${f} refused`);
    }
  }
});

Deno.test("every registry endpoint refuses a 1 MB string anywhere in the body with err.request.bad naming it", async () => {
  const deps = await testDeps({ bodyLimit: String(8 * MB), rateLimitMinute: "100000" });
  try {
    const alice = await createTestSender(deps);
    const post = signedPoster(deps, alice);
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
      [
        "sync/search",
        { transaction_id: "t", search_request: [{ reference_id: "r" }] },
        { message_id: ZEROS },
        "header.message_id",
      ],
      [
        "sync/search",
        { transaction_id: "t", search_request: [{ reference_id: "r" }] },
        { message_ts: T },
        "header.message_ts",
      ],
      [
        "search",
        { transaction_id: "t", search_request: [{ reference_id: "r", timestamp: T }] },
        {},
        "message.search_request.0.timestamp",
      ],
      [
        "subscribe",
        {
          transaction_id: "t",
          subscribe_request: [{ reference_id: "r", subscribe_criteria: { frequency: { start_time: T } } }],
        },
        {},
        "message.subscribe_request.0.subscribe_criteria.frequency.start_time",
      ],
      [
        "unsubscribe",
        { transaction_id: "t", subscription_codes: ["-".repeat(MB)] },
        {},
        "message.subscription_codes.0",
      ],
      ["txn/status", { transaction_id: SLASHES, txnstatus_request: {} }, {}, "message.transaction_id"],
      [
        "sync/receipt",
        { transaction_id: "t", notification_id: "é".repeat(MB) },
        {},
        "message.notification_id",
      ],
      [
        "sync/search",
        { transaction_id: "t", search_request: [{ reference_id: "r" }] },
        { meta: { [T]: 1 } },
        "header.meta.TTTT",
      ],
    ];
    for (const [path, message, header, field] of cases) {
      const r = await post(path, message, header);
      assert.equal(r.status, 400, `${path} ${field}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.equal(r.body.message.error.code, "err.request.bad");
      assert.match(r.body.message.error.message, /is longer than 8192 characters/);
      assert.ok(r.body.message.error.message.includes(field), r.body.message.error.message);
    }
  } finally {
    deps.close();
  }
});

Deno.test("a NUL character (\\u0000) in any string of a registry body is refused 400 before the request is processed", async () => {
  const deps = await testDeps({ rateLimitMinute: "100000" });
  try {
    const alice = await createTestSender(deps);
    const post = signedPoster(deps, alice);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      // PostgreSQL text cannot hold one: the subscription's insert failed, and with it the whole request.
      [
        "subscribe",
        { transaction_id: "t", subscribe_request: [{ reference_id: "r", reg_type: "Person\0" }] },
        "message.subscribe_request.0.reg_type",
      ],
      ["sync/receipt", { transaction_id: "t", notification_id: "n\0" }, "message.notification_id"],
      [
        "sync/txn/status",
        {
          transaction_id: "t",
          txnstatus_request: {
            reference_id: "r",
            txn_type: "search",
            attribute_type: "transaction_id",
            attribute_value: "a\0",
          },
        },
        "message.txnstatus_request.attribute_value",
      ],
    ];
    for (const [path, message, field] of cases) {
      const r = await post(path, message, {});
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.equal(r.body.message.error.code, "err.request.bad");
      assert.equal(
        r.body.message.error.message,
        `Invalid request: ${field} holds a NUL character (\\u0000), which no field may`,
      );
    }
  } finally {
    deps.close();
  }
});

Deno.test("a number too large to be finite (1e999) is refused 400: its signature could not tell it from null", async () => {
  const deps = await testDeps({ rateLimitMinute: "100000" });
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const send = async (text: string) => {
      const res = await app.request("/registry/sync/receipt", {
        method: "POST",
        headers: { "content-type": "application/json", ...alice.headers() },
        body: text,
      });
      return { status: res.status, body: await res.json() };
    };
    const signed = (message: Record<string, unknown>) =>
      JSON.stringify(alice.sign(
        requestEnvelope(alice.senderId, message, { action: "receipt", nowMs: deps.clock.now() }),
        deps.clock.now(),
      ));
    // Signed with a null, sent with the null made 1e999: canonical JSON writes both as null.
    const text = signed({ transaction_id: "t", notification_id: "n", note: null });
    const forged = await send(text.replace('"note":null', '"note":1e999'));
    assert.equal(forged.status, 400, JSON.stringify(forged.body).slice(0, 300));
    assert.equal(forged.body.message.error.code, "err.request.bad");
    assert.equal(
      forged.body.message.error.message,
      "Invalid request: message.note is a number too large to be finite",
    );
    // Long or large numbers that are finite pass the check.
    const finite = await send(signed({
      transaction_id: "t2",
      notification_id: "n",
      note: [0.001e300, Number("1".padEnd(305, "0")), 1e-400],
    }));
    assert.notEqual(finite.status, 400, JSON.stringify(finite.body).slice(0, 300));
  } finally {
    deps.close();
  }
});

Deno.test("the auth chain refuses 1 MB credentials and signature headers without parsing them", async () => {
  const deps = await testDeps({ bodyLimit: String(8 * MB) });
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const body = JSON.stringify(alice.sign(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() })));
    const search = (headers: Record<string, string>) =>
      app.request("/registry/sync/search", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    let res = await search({ authorization: `Bearer ${"a".repeat(MB)}` });
    assert.equal(res.status, 401);
    for (const name of ["signature-input", "signature", "content-digest"]) {
      res = await search({
        ...alice.headers(),
        "signature-input": 'sig=("@method")',
        [name]: `sig=(${'"a" '.repeat(MB / 4)}`,
      });
      assert.equal(res.status, 401, name);
      const err = (await res.json()).message.error;
      assert.equal(err.code, "err.signature.invalid");
      assert.match(err.message, new RegExp(`${name} is longer than 8192`));
    }
    const token = (headers: Record<string, string>, form: string) =>
      app.request("/oauth2/client/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: form,
      });
    res = await token({}, `grant_type=client_credentials&client_id=${"a".repeat(2000)}&client_secret=x`);
    assert.equal(res.status, 400);
    assert.match((await res.json()).error_description, /longer than 1024/);
    res = await token({}, `grant_type=client_credentials&client_id=${"a".repeat(MB)}&client_secret=x`);
    assert.equal(res.status, 413, "past the token endpoint's 8 KiB");
    await res.body?.cancel();
    res = await token({ authorization: `Basic ${"A".repeat(MB)}=x` }, "grant_type=client_credentials");
    assert.equal(res.status, 401);
    await res.body?.cancel();
  } finally {
    deps.close();
  }
});

Deno.test("subscribe and unsubscribe processors answer a stored 1 MB field with its item rejection", async () => {
  const deps = await testDeps();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    for (const [name, s] of Object.entries(PATHOLOGICAL)) {
      for (const field of ["start_time", "end_time"]) {
        const r = await subscribeProcessor(
          deps,
          input("s1", {
            transaction_id: "t",
            subscribe_request: [{
              reference_id: "r",
              subscribe_criteria: {
                reg_event_type: "registration",
                notify_record_type: "person",
                frequency: { [field]: s },
              },
            }],
          }),
        );
        const item = (r.message.subscribe_response as Array<Record<string, string>>)[0];
        assert.equal(item.status_reason_code, "rjct.notify_details.invalid", `${name} ${field}`);
      }
      const other = await subscribeProcessor(
        deps,
        input("s1", {
          transaction_id: "t",
          subscribe_request: [
            { reference_id: s, subscribe_criteria: {} },
            { reference_id: "r2", subscribe_criteria: { reg_event_type: s, notify_record_type: s } },
            {
              reference_id: "r3",
              subscribe_criteria: {
                reg_event_type: "update",
                notify_record_type: "person",
                filter: { expression: { [s]: s } },
              },
            },
          ],
        }),
      );
      assert.deepEqual(
        (other.message.subscribe_response as Array<Record<string, string>>).map((i) => i.status_reason_code),
        ["rjct.reference_id.invalid", "rjct.notify_types.invalid", "rjct.notify_details.invalid"],
        name,
      );
      assert.ok(JSON.stringify(other.message).length < 10_000, `${name}: nothing large is echoed`);
      const un = await unsubscribeProcessor(
        deps,
        input("s1", { transaction_id: "u", subscription_codes: [s] }),
      );
      assert.equal(
        (un.message.subscription_status as Array<Record<string, string>>)[0].status_reason_code,
        "rjct.subscription_code.invalid",
      );
      assert.throws(() => subscriptionTime(s, "start_time"));
      assert.equal(normaliseEventType(s), undefined);
      assert.equal(localeOf(s), undefined);
    }
  } finally {
    deps.close();
  }
});

Deno.test("search items answer 1 MB fields with their item codes", async () => {
  const deps = await testDeps();
  try {
    // Each item alone in a search message, answered by the backend's own search.
    const answer = async (item: Record<string, unknown>) =>
      (await deps.storage.search.message(deps, {
        registry: "social",
        header: { version: "1.0.0", action: "search", total_count: 1 },
        message: { transaction_id: "t", search_request: [item] },
      })).message.search_response[0];
    const ok = {
      reference_id: "r",
      timestamp: "2026-01-01T00:00:00Z",
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "1" } },
    };
    for (const [name, s] of Object.entries(PATHOLOGICAL)) {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...ok, reference_id: s }, "rjct.reference_id.invalid"],
        [{ ...ok, timestamp: s }, "rjct.timestamp.invalid"],
        [{ ...ok, search_criteria: { query_type: s, query: {} } }, "rjct.search_criteria.invalid"],
        [
          { ...ok, search_criteria: { query_type: "idtype-value", query: { type: s, value: s } } },
          "rjct.filter.invalid",
        ],
        [{
          ...ok,
          search_criteria: {
            query_type: "predicate",
            query: [{ expression1: { attribute_name: s, operator: "eq", attribute_value: s } }],
          },
        }, "rjct.filter.invalid"],
        [{
          ...ok,
          search_criteria: {
            query_type: "predicate",
            query: [{ expression1: { attribute_name: "given_name", operator: s, attribute_value: s } }],
          },
        }, "rjct.filter.invalid"],
        [{
          ...ok,
          search_criteria: {
            query_type: "expression",
            query: { expression: { birth_date: { $gte: s } } },
          },
        }, "rjct.filter.invalid"],
        [
          { ...ok, search_criteria: { ...ok.search_criteria, sort: [{ attribute_name: s }] } },
          "rjct.sort.invalid",
        ],
      ];
      for (const [item, code] of cases) {
        const r = await answer(item);
        assert.equal(r.status, "rjct", `${name}: ${code}`);
        assert.equal(r.status_reason_code, code, `${name}: ${r.status_reason_message}`);
        assert.ok(r.reference_id.length <= 99 && r.status_reason_message!.length <= 999);
      }
      assert.throws(() => parseQuery(s, {}), QueryError);
    }
  } finally {
    deps.close();
  }
});

Deno.test("callback and notification URLs, signature strings and headers return on 1 MB worst cases", () => {
  for (const [name, s] of Object.entries(PATHOLOGICAL)) {
    assert.equal(callbackUrl(`https://cb.example/${s}`, "search"), undefined, name);
    assert.equal(notifyUrl(`https://cb.example/${s}`), undefined, name);
    // Each ends in a character its grammar refuses, after a run that almost matches.
    assert.equal(parseSignature(`a="${s}`).ok, false, name);
    assert.equal(parseSignature(`kidId="${"|".repeat(MB)}", signature="${s}==="`).ok, false, name);
    assert.equal(parseSignatureInput(`sig=(${'"a" '.repeat(MB / 4)}${s}!`), undefined, name);
    assert.equal(parseSignatureInput(`sig=("a");created=${ZEROS}${s}!`), undefined, name);
    assert.equal(parseSignatureHeader(`sig=:${"A".repeat(MB)}${s}!`), undefined, name);
    assert.equal(checkContentDigest(`sha-256=:${"A".repeat(MB)}${s}!`, new Uint8Array()), false, name);
  }
  // The linear replacement of /\/+$/ keeps its meaning.
  assert.equal(trimTrailingSlashes(`/a${SLASHES}`), "/a");
  assert.equal(trimTrailingSlashes(SLASHES), "");
  assert.equal(
    callbackUrl("https://cb.example/base///", "search"),
    "https://cb.example/base/registry/on-search",
  );
});

Deno.test("registrant input (admin API and imports) refuses 1 MB values", () => {
  const now = "2026-01-01T00:00:00.000Z";
  for (const [name, s] of Object.entries(PATHOLOGICAL)) {
    for (
      const raw of [
        { id: s },
        { birth_date: s },
        { death_date: s },
        { registration_date: s },
        { record_type: s },
        { name: { given_name: s } },
        { sex: s },
        { relationship: s },
        { identifiers: [{ type: s, value: s }] },
        { attributes: [{ name: "a", value: s }] },
        { attributes: { a: s } },
        { address: [{ locality: s }] },
        { phone_number: [s] },
      ]
    ) {
      assert.throws(() => readRegistrant(raw, now), InputError, `${name}: ${Object.keys(raw)[0]}`);
    }
    assert.equal(normaliseDate(s), undefined);
    assert.equal(normaliseIdType(s), undefined);
    assert.equal(normaliseSex(s), undefined);
  }
  // A record_type nested 200,000 arrays deep (String() of it overflows the stack): one refused record.
  const deep = JSON.parse(`{"record_type":${"[".repeat(200_000)}${"]".repeat(200_000)}}`);
  assert.throws(
    () => readRegistrant(deep, now),
    (e) => e instanceof InputError && /record_type: must be a string/.test(e.message),
  );
});

Deno.test("import parsers refuse a 1 MB CSV cell or NDJSON line instead of growing it", async () => {
  const collect = async (it: AsyncIterable<unknown>) => {
    for await (const _ of it) { /* drain */ }
  };
  for (const [name, s] of Object.entries(PATHOLOGICAL)) {
    if (s.includes("\n")) continue;
    await assert.rejects(
      collect(csvRows(chunks("id,given_name\n", `P-1,${s}\n`))),
      /longer than 65536/,
      name,
    );
    await assert.rejects(collect(csvRows(chunks("id,given_name\n", `P-1,"${s}`))), /longer than 65536/, name);
    await assert.rejects(collect(lines(chunks(`{"id":"${s}"}`, "\n"))), /larger than 1 MB/, name);
  }
  // A row is bounded too: its cells (a file whose lines end in CR alone reads as one row), its characters, and a
  // cell of doubled quotes as any cell.
  const crOnly = "id,given_name\r" + Array.from({ length: 5000 }, (_, i) => `P-${i},Name ${i}\r`).join("");
  await assert.rejects(
    collect(csvRows(chunks(crOnly))),
    /line 1: a row is longer than 4096 cells .*CR alone/,
  );
  await assert.rejects(
    collect(csvRows(chunks("id,given_name\n", ",".repeat(5000)))),
    /line 2: a row is longer/,
  );
  const wide = Array.from({ length: 20 }, () => "x".repeat(60_000)).join(",");
  await assert.rejects(collect(csvRows(chunks("id,given_name\n", wide, "\n"))), /line 2: a row is longer/);
  await assert.rejects(collect(csvRows(chunks(`P-1,"${'""'.repeat(70_000)}"\n`))), /longer than 65536/);
  // Rows within the bounds are read, a quoted field's line breaks and doubled quotes included.
  const rows: string[][] = [];
  for await (const r of csvRows(chunks('id,note\r\nP-1,"a ""b""\nc"\r\n', `P-2,${"y".repeat(60_000)}\n`))) {
    rows.push(r.cells);
  }
  assert.deepEqual(rows.map((r) => r.map((c) => c.length > 50 ? c.length : c)), [
    ["id", "note"],
    ["P-1", 'a "b"\nc'],
    ["P-2", 60_000],
  ]);
});

Deno.test("a JWKS with 1 MB kids or keys is refused", () => {
  for (const [name, s] of Object.entries(PATHOLOGICAL)) {
    const docs = [
      { keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: s }] },
      { keys: [{ kty: "OKP", crv: "Ed25519", x: s, kid: "k1" }] },
      { keys: [{ kty: "RSA", n: s, e: "AQAB", kid: `a|${s}|rs256` }] },
    ];
    for (const doc of docs) assert.throws(() => parseJwks(JSON.stringify(doc)), SenderError, name);
  }
});

Deno.test("DateTime refuses a time no clock shows (hour 25, second 60, offset +99:00): an admin list's since answers 400, not 500", async () => {
  for (const v of ["2026-01-01T25:00:00Z", "2026-06-30T23:59:60Z", "2026-01-01T10:00:00+99:00"]) {
    const r = DateTime.safeParse(v);
    assert.equal(r.success, false, v);
    assert.match(r.error!.issues[0].message, /a time of the day/, v);
  }
  for (
    const v of [
      "2026-01-01t10:00:00z",
      "2026-01-01 10:00:00Z",
      "2026-01-01T10:00:00+0100",
      "2026-01-01T10:00Z",
    ]
  ) {
    assert.equal(DateTime.safeParse(v).success, true, v);
  }
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "viewer" });
    for (
      const path of [
        "/admin/v1/transactions?since=2026-01-01T25:00:00Z",
        "/admin/v1/transactions?until=2026-06-30T23:59:60Z",
        "/admin/v1/notifications?since=2026-01-01T10:00:00%2B99:00",
      ]
    ) {
      const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 400, `${path}: ${await res.text()}`);
    }
  } finally {
    deps.close();
  }
});
