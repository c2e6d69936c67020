/**
 * What the one input reader (readRegistrant, every writer's) keeps of dates and texts: a date or a real ISO 8601
 * date-time and nothing after it, as the query compiler reads them (search_values_test.ts); texts in NFC.
 */
import assert from "node:assert/strict";
import { nfc, normaliseDate, normaliseTimestamp } from "../../src/registry/attributes.ts";
import { InputError, readRegistrant } from "../../src/registry/model.ts";

const NOW = "2026-03-01T10:00:00.000Z";

/** Dates with something after them that is not a time, or a time that is not one. */
const NOT_DATES = [
  "1990-01-02 approx",
  "1990-01-02T99:99",
  "1990-01-02x",
  "1990-01-02T10",
  "1990-01-02T",
  "1990-01-02T10:00:00Zjunk",
  "1990-01-02T24:00:00Z",
  "1990-01-02T10:00:60Z",
  "1990-01-02T10:00:00+24:00",
  "1990-01-02 10:00:00 +05:30",
];

Deno.test("normaliseDate and normaliseTimestamp: a date, or a date-time, and nothing else", () => {
  for (const v of NOT_DATES) {
    assert.equal(normaliseDate(v), undefined, v);
    assert.equal(normaliseTimestamp(v), undefined, v);
  }
  const dates: Array<[string, string, string]> = [
    ["1990-01-02", "1990-01-02", "1990-01-02"],
    [" 1990-01-02 ", "1990-01-02", "1990-01-02"],
    ["1990-01-02T10:00", "1990-01-02", "1990-01-02T10:00:00.000Z"],
    ["1990-01-02 23:30:00-01:00", "1990-01-02", "1990-01-03T00:30:00.000Z"],
    ["1990-01-02T10:00:00.123456+0530", "1990-01-02", "1990-01-02T04:30:00.123Z"],
    ["2024-02-29t00:00:00z", "2024-02-29", "2024-02-29T00:00:00.000Z"],
  ];
  for (const [v, date, stamp] of dates) {
    assert.equal(normaliseDate(v), date, v);
    assert.equal(normaliseTimestamp(v), stamp, v);
  }
  // No instant past 9999-12-31T23:59:59.999Z: it would have no four-digit year.
  assert.equal(normaliseTimestamp("9999-12-31T23:00:00-05:00"), undefined);
});

Deno.test("readRegistrant refuses a date or date-time followed by anything but a time, naming the field", () => {
  for (const v of NOT_DATES) {
    for (const field of ["birth_date", "death_date", "registration_date"]) {
      assert.throws(
        () => readRegistrant({ id: "P1", [field]: v }, NOW),
        (e) => e instanceof InputError && e.message.startsWith(`${field}: `),
        `${field} ${v}`,
      );
    }
  }
  const reg = readRegistrant(
    { id: "P1", birth_date: "1990-01-02T23:00:00-05:00", registration_date: "2020-05-06 07:08:09+02:00" },
    NOW,
  );
  assert.equal(reg.birthDate, "1990-01-02");
  assert.equal(reg.registrationDate, "2020-05-06T05:08:09.000Z");
});

Deno.test("readRegistrant stores texts in NFC (a name typed with combining marks is the composed name)", () => {
  const nfd = (s: string) => s.normalize("NFD");
  const reg = readRegistrant({
    id: "P1",
    name: { given_name: nfd("José"), surname: nfd(" Öztürk "), second_name: "Zoë" },
    address: [{ locality: nfd("Đà Nẵng"), country_code: "vn" }],
    group_type: nfd("hộ gia đình"),
  }, NOW);
  assert.deepEqual(reg.name, { given_name: "José", surname: "Öztürk", second_name: "Zoë" });
  assert.equal(reg.addresses[0].locality, "Đà Nẵng");
  assert.equal(reg.addresses[0].country_code, "VN");
  assert.equal(reg.groupType, "hộ gia đình");
  assert.equal(nfc(nfd("Ångström")), "Ångström");
  assert.equal(nfc("plain ASCII"), "plain ASCII");
});
