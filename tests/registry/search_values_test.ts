/**
 * Query values as the compiler reads them, on both backends: a timestamp value with a time of day is its UTC
 * instant (a date alone its whole day), a date followed by anything but a time is refused, and text values are
 * compared in NFC, as names are stored.
 */
import assert from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { copyRegistry, sourceRegistry } from "../helpers/registry_seed.ts";
import { FIXTURE_NOW, pred } from "./fixture.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { RawSql } from "../helpers/storage.ts";
import { idsOf, searchOn } from "./search_backends.ts";

const NOW = new Date(FIXTURE_NOW).toISOString();

/** Persons registered around 2026-12-03T17:00:00Z (T4 with a zone: 23:30Z; T5: 2026-12-04T00:30Z). */
const RECORDS = [
  ["T1", "2026-12-03T16:59:59.999Z", "José", "Öztürk"],
  ["T2", "2026-12-03T17:00:00.000Z", "Jose\u0301", "O\u0308zil"], // NFD: stored in NFC
  ["T3", "2026-12-03T17:00:00.001Z", "Zoë", "Smith"],
  ["T4", "2026-12-03T23:30:00+00:00", "Ann", "Lee"],
  ["T5", "2026-12-04T01:30:00+01:00", "Bo", "Lee"],
  ["T6", "2026-12-02", "Cy", "Lee"],
].map(([id, registered, given, surname]) => ({
  id,
  name: { given_name: given, surname },
  birth_date: "1990-01-02",
  registration_date: registered,
}));

async function seeded(storage: Storage, sql: RawSql): Promise<void> {
  const source = await sourceRegistry(RECORDS.map((raw, i) => ({ line: i + 1, raw })), { now: NOW });
  await copyRegistry(source, storage.kind, sql);
}

const ALL = ["T1", "T2", "T3", "T4", "T5", "T6"];

/** Timestamp comparisons and what they find (row id order). */
const TIMES: Array<[string, string, unknown, string[]]> = [
  ["gt", "registration_date", "2026-12-03T17:00:00Z", ["T3", "T4", "T5"]],
  ["ge", "registration_date", "2026-12-03T17:00:00Z", ["T2", "T3", "T4", "T5"]],
  ["lt", "registration_date", "2026-12-03T17:00:00Z", ["T1", "T6"]],
  ["le", "registration_date", "2026-12-03T18:00:00+01:00", ["T1", "T2", "T6"]],
  ["lt", "registration_date", "2026-12-03T12:00:00-05:00", ["T1", "T6"]],
  ["gt", "registration_date", "2026-12-03 17:00:00Z", ["T3", "T4", "T5"]],
  ["eq", "registration_date", "2026-12-03T17:00Z", ["T2"]],
  ["ne", "registration_date", "2026-12-03T17:00:00Z", ["T1", "T3", "T4", "T5", "T6"]],
  ["in", "registration_date", ["2026-12-03T17:00:00.000Z", "2026-12-04T01:30:00+01:00"], ["T2", "T5"]],
  ["in", "registration_date", [
    "2026-12-02",
    "2020-01-01",
    "2020-01-02",
    "2020-01-03",
    "2026-12-03T17:00:00.001Z",
  ], [
    "T3",
    "T6",
  ]],
  // A date alone is its whole UTC day, as before.
  ["eq", "registration_date", "2026-12-03", ["T1", "T2", "T3", "T4"]],
  ["gt", "registration_date", "2026-12-03", ["T5"]],
  ["le", "registration_date", "2026-12-03", ["T1", "T2", "T3", "T4", "T6"]],
  ["in", "registration_date", ["2026-12-02", "2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"], ["T6"]],
  ["gt", "last_updated", "2026-01-01T11:59:59Z", ALL],
  ["gt", "last_updated", NOW, []],
];

backendTest("search: a timestamp value with a time of day compares its UTC instant", async (storage, sql) => {
  await seeded(storage, sql);
  for (const [op, attr, value, expected] of TIMES) {
    const a = await searchOn(storage, pred(attr, op, value));
    assert.equal(a.status, "succ", `${attr} ${op} ${value}: ${a.status_reason_message}`);
    assert.deepEqual(idsOf(a), expected, `${attr} ${op} ${JSON.stringify(value)}`);
  }
  // CEL's timestamp() literal reads the same.
  const cel = await searchOn(storage, {
    query_type: "predicate",
    query: `r.registration_date > timestamp("2026-12-03T17:00:00Z")`,
  });
  assert.deepEqual(idsOf(cel), ["T3", "T4", "T5"]);
});

backendTest("search: a date followed by anything but a time is rjct.filter.invalid", async (storage, sql) => {
  await seeded(storage, sql);
  for (
    const [attr, value] of [
      ["birth_date", "1990-01-02 approx"],
      ["birth_date", "1990-01-02T99:99"],
      ["birth_date", "1990-01-02T10"],
      ["registration_date", "2026-12-03T17:00:00Z trailing"],
      ["registration_date", "2026-12-03T24:00:00Z"],
      ["last_updated", "2026-12-03T17:00:00+25:00"],
    ]
  ) {
    const a = await searchOn(storage, pred(attr, "eq", value));
    assert.equal(a.status_reason_code, "rjct.filter.invalid", `${attr} ${value}`);
    assert.match(a.status_reason_message ?? "", /invalid value/);
  }
  assert.deepEqual(
    idsOf(await searchOn(storage, pred("birth_date", "eq", "1990-01-02T23:00:00-05:00"))),
    ALL,
  );
});

backendTest("search: names are compared in NFC, whichever form was stored or sent", async (storage, sql) => {
  await seeded(storage, sql);
  const nfd = (s: string) => s.normalize("NFD");
  const cases: Array<[ReturnType<typeof pred>, string[]]> = [
    [pred("given_name", "eq", "José"), ["T1", "T2"]],
    [pred("given_name", "eq", nfd("José")), ["T1", "T2"]],
    [pred("name", "eq", nfd("Özil")), ["T2"]],
    [pred("name", "in", [nfd("Zoë"), "Lee"]), ["T3", "T4", "T5", "T6"]],
    [pred("surname", "like", nfd("Öz%")), ["T1", "T2"]],
    [pred("name", "like", nfd("Öz%")), ["T1", "T2"]],
    [pred("surname", "contains", nfd("ztü")), ["T1"]],
    [pred("search_text", "eq", nfd("Zoë")), ["T3"]],
    // ASCII letters fold; other letters do not (NOCASE and lower() in the C locale fold A-Z only).
    [pred("name", "eq", "JOSÉ"), []],
    [pred("name", "eq", "JOSé"), ["T1", "T2"]],
  ];
  for (const [criteria, expected] of cases) {
    const a = await searchOn(storage, criteria);
    assert.equal(a.status, "succ", JSON.stringify(criteria));
    assert.deepEqual(idsOf(a), expected, JSON.stringify(criteria.query));
  }
});
