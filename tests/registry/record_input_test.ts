/**
 * Reading an input record's dates and texts, every import's hot path: `normaliseDate` checks a date by arithmetic
 * and `readRegistrant` keeps a registration date-time already in its normal form, so each must still accept and
 * refuse exactly what the `Date`-based definitions did. Lists over their cap are refused, never cut.
 */
import assert from "node:assert/strict";
import { normaliseDate } from "../../src/registry/attributes.ts";
import {
  InputError,
  MAX_CONTACTS,
  MAX_IDENTIFIERS,
  prune,
  readRegistrant,
} from "../../src/registry/model.ts";

/** The definition `normaliseDate` had: the date part, when `Date.UTC` gives back the same day. */
function dateByDateUtc(raw: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/.exec(raw.trim());
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  if (d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) {
    return undefined;
  }
  return `${m[1]}-${m[2]}-${m[3]}`;
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

Deno.test("normaliseDate accepts and refuses the days the Date.UTC check did (leap years, month ends, years < 100)", () => {
  const years = [0, 1, 4, 50, 99, 100, 104, 400, 1899, 1900, 1904, 1999, 2000, 2023, 2024, 2100, 2400, 9999];
  let accepted = 0;
  for (const y of years) {
    for (let m = 0; m <= 13; m++) {
      for (let d = 0; d <= 32; d++) {
        const day = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
        for (const raw of [day, `${day}T10:00:00Z`, ` ${day} 08:00`, `${day}x`]) {
          const want = dateByDateUtc(raw);
          assert.equal(normaliseDate(raw), want, raw);
          if (want) accepted++;
        }
      }
    }
  }
  // Every real day of the 13 years from 100 on (6 leap), in three of the four forms.
  assert.equal(accepted, 3 * (7 * 365 + 6 * 366));
  assert.equal(normaliseDate("2024-02-29"), "2024-02-29");
  assert.equal(normaliseDate("2023-02-29"), undefined);
  assert.equal(normaliseDate("0050-01-01"), undefined);
  assert.equal(normaliseDate(20240101), undefined);
  assert.equal(normaliseDate(`2024-01-01T${"0".repeat(100)}`), undefined);
});

Deno.test("readRegistrant: a registration date-time in its normal form is kept, any other normalised to its UTC instant or refused", () => {
  const now = "2026-03-01T10:00:00.000Z";
  const cases: [string, string | undefined][] = [
    ["2019-04-04T00:00:00.000Z", "2019-04-04T00:00:00.000Z"],
    ["2019-04-04T23:59:59.999Z", "2019-04-04T23:59:59.999Z"],
    ["2019-04-04", "2019-04-04T00:00:00.000Z"],
    ["2019-04-04T10:00:00Z", "2019-04-04T10:00:00.000Z"],
    ["2019-04-04T10:00:00+02:00", "2019-04-04T08:00:00.000Z"],
    ["2019-04-04T10:00:00-0530", "2019-04-04T15:30:00.000Z"],
    // No zone: UTC (README), on any host.
    ["2019-04-04T10:00", "2019-04-04T10:00:00.000Z"],
    ["2019-04-04 10:00:07.5", "2019-04-04T10:00:07.500Z"],
    ["2019-04-04T24:00:00.000Z", undefined],
    ["2019-04-04T23:60:00.000Z", undefined],
    ["2019-04-04T23:59:60.000Z", undefined],
    ["2019-02-30T00:00:00.000Z", undefined],
    ["2024-02-29T12:00:00.000Z", "2024-02-29T12:00:00.000Z"],
    ["0050-01-01T00:00:00.000Z", undefined],
    ["2019-04-04T00:00:00.000z", "2019-04-04T00:00:00.000Z"],
    ["not a date", undefined],
  ];
  for (const [v, want] of cases) {
    const read = () => readRegistrant({ id: "P1", registration_date: v }, now);
    if (want === undefined) {
      assert.throws(read, (e) => e instanceof InputError && /registration_date/.test(e.message), v);
    } else assert.equal(read().registrationDate, want, v);
  }
  assert.equal(readRegistrant({ id: "P1" }, now).registrationDate, now);
});

Deno.test("readRegistrant: a registration date-time without a zone is UTC on a host outside UTC too (the farmer registry's dates too)", async () => {
  const model = new URL("../../src/registry/model.ts", import.meta.url).href;
  const farmer = new URL("../../src/registries/fr/read.ts", import.meta.url).href;
  const code = `const { readRegistrant } = await import(${JSON.stringify(model)});
    const { readStamp } = await import(${JSON.stringify(farmer)});
    const r = readRegistrant({ id: "P1", registration_date: "2019-04-04T10:00" }, "2026-03-01T10:00:00.000Z");
    const activity = readStamp("2019-04-04 10:00:30", "details.activities[0].registration_date", []);
    console.log(JSON.stringify([new Date(2019, 3, 4).getTimezoneOffset(), r.registrationDate, activity]));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { TZ: "Asia/Kolkata", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const [offset, stamp, activity] = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(offset, -330, "the child runs in Asia/Kolkata");
  assert.equal(stamp, "2019-04-04T10:00:00.000Z");
  assert.equal(activity, "2019-04-04T10:00:30.000Z", "the farmer registry's activity dates too");
});

Deno.test("readRegistrant refuses a NUL anywhere (a value, a key, in a list); prune drops only undefined fields", () => {
  const now = "2026-03-01T10:00:00.000Z";
  for (
    const raw of [
      { id: "P1", name: { given_name: "A\u0000" } },
      { id: "P1", attributes: { "k\u0000": 1 } },
      { id: "P1", phone_number: ["1", "2\u0000"] },
      { id: "P1", addresses: [{ locality: "x" }, { locality: ["deep", { y: "\u0000" }] }] },
    ]
  ) {
    assert.throws(() => readRegistrant(raw, now), (e) => e instanceof InputError && /NUL/.test(e.message));
  }
  assert.equal(readRegistrant({ id: "P1", name: { given_name: "Ana" } }, now).name.given_name, "Ana");
  assert.deepEqual(prune({ a: 1, b: undefined, c: null, d: 0, e: "" }), { a: 1, c: null, d: 0, e: "" });
  assert.deepEqual(Object.keys(prune({ b: undefined, a: 1 })), ["a"]);
});

Deno.test("readRegistrant refuses an integer field beyond ±(2^53 - 1) (PostgreSQL's bigint refused one past 2^63 as a 500)", () => {
  const now = "2026-03-01T10:00:00.000Z";
  const group = (size: unknown) => ({ id: "G1", record_type: "group", group_size: size });
  assert.throws(
    () => readRegistrant(group(1e19), now),
    (e) => e instanceof InputError && /group_size: expected an integer within/.test(e.message),
  );
  assert.equal(readRegistrant(group(Number.MAX_SAFE_INTEGER), now).groupSize, Number.MAX_SAFE_INTEGER);
});

Deno.test("readRegistrant refuses an id or identifier value given as a number beyond 2^53 (already rounded by JSON), and says why an identifier is refused", () => {
  const now = "2026-03-01T10:00:00.000Z";
  const errors = (raw: Record<string, unknown>) => {
    try {
      readRegistrant(raw, now);
      return [];
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return e.reasons;
    }
  };
  // 12345678901234567891 reads as 12345678901234567000: two such ids would name one record.
  assert.deepEqual(errors(JSON.parse('{"id": 12345678901234567891}')), [
    "id: 12345678901234567000 is a number beyond 2^53, which JSON readers round: write it as a string",
  ]);
  assert.deepEqual(
    errors(
      JSON.parse(
        '{"id": "P1", "identifiers": [{"identifier_type": "UIN", "identifier_value": 9007199254740993}]}',
      ),
    ),
    ["identifier[0]: 9007199254740992 is a number beyond 2^53, which JSON readers round: write it as a string"],
  );
  const ok = readRegistrant({
    id: 42,
    identifiers: [{ identifier_type: "UIN", identifier_value: 9007199254740991 }],
  }, now);
  assert.deepEqual([ok.externalId, ok.identifiers[0].value], ["42", "9007199254740991"]);
  assert.deepEqual(
    errors({
      id: "P1",
      identifiers: [
        { identifier_type: "NATIONAL ID", identifier_value: "1" },
        { identifier_value: "2" },
        { identifier_type: "UIN", identifier_value: "x".repeat(129) },
        { identifier_type: "UIN" },
        "UIN:5",
      ],
    }),
    [
      'identifier[0]: identifier_type "NATIONAL ID" is not a code (a letter, then up to 63 letters, digits, _ . -)',
      "identifier[1]: identifier_type is missing",
      "identifier[2]: identifier_value is longer than 128 characters",
      "identifier[3]: identifier_value is missing or not a string",
      "identifier[4]: expected {identifier_type, identifier_value}",
    ],
  );
});

Deno.test("readRegistrant refuses more than MAX_CONTACTS phones, e-mails or addresses naming the field, as identifiers over theirs", () => {
  const now = "2026-03-01T10:00:00.000Z";
  const many = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));
  const refused = (raw: Record<string, unknown>, reason: RegExp) =>
    assert.throws(
      () => readRegistrant({ id: "P1", ...raw }, now),
      (e) => e instanceof InputError && reason.test(e.message),
    );
  refused(
    { phone_number: many(MAX_CONTACTS + 2, (i) => `+99 7000${i}`) },
    /^phone_number: more than 10 values \(12 given\)$/,
  );
  refused(
    { phone: many(MAX_CONTACTS + 1, (i) => `+99 7000${i}`) },
    /^phone_number: more than 10 values \(11 given\)$/,
  );
  refused(
    { email: many(MAX_CONTACTS + 1, (i) => `p${i}@example.org`) },
    /^email: more than 10 values \(11 given\)$/,
  );
  refused(
    { address: many(MAX_CONTACTS + 1, (i) => ({ locality: `L${i}` })) },
    /^address: more than 10 addresses \(11 given\)$/,
  );
  refused(
    { identifier: many(MAX_IDENTIFIERS + 1, (i) => ({ identifier_type: "UIN", identifier_value: `U${i}` })) },
    /^identifier: more than 50 distinct identifiers/,
  );
  // At the cap, every value is kept.
  const full = readRegistrant({
    id: "P1",
    phone_number: many(MAX_CONTACTS, (i) => `+99 7000${i}`),
    email: many(MAX_CONTACTS, (i) => `p${i}@example.org`),
    addresses: many(MAX_CONTACTS, (i) => ({ locality: `L${i}` })),
  }, now);
  assert.deepEqual([full.phones.length, full.emails.length, full.addresses.length], [10, 10, 10]);
  assert.equal(full.addresses[9].locality, "L9");
});
