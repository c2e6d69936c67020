/** crvs readDetails: the civil registry part of an input record, validated, bounded and normalised. */
import assert from "node:assert/strict";
import { CRVS_PERSON_RECORD, crvsProfile } from "../../src/registries/crvs/mod.ts";
import { detailErrors } from "./crvs_fixture.ts";

type Json = Record<string, unknown>;

function read(raw: Json): Json | undefined {
  const errors: string[] = [];
  const out = crvsProfile.readDetails(raw, CRVS_PERSON_RECORD, errors);
  assert.deepEqual(errors, []);
  return out;
}

Deno.test("crvs readDetails() folds a birth's place into its live_birth event dated by birth_date", () => {
  const out = read({
    birth_date: "2025-03-14",
    details: {
      birth_place: { name: "Riverside District Hospital", locality: "Riverside", region: "central_region" },
      parent1_identifier: { identifier_type: "uin", identifier_value: "P-1" },
      parent2_identifier: "BRN:B:2",
    },
  });
  assert.deepEqual(out, {
    vital_events: [{
      type: "live_birth",
      date: "2025-03-14",
      place: { name: "Riverside District Hospital", locality: "Riverside", region_code: "central_region" },
    }],
    parent1_identifier: { type: "UIN", value: "P-1" },
    parent2_identifier: { type: "BRN", value: "B:2" },
  });
});

Deno.test("crvs readDetails() records a death from death_date alone, with death_place", () => {
  assert.deepEqual(read({ death_date: "2025-11-02" }), {
    vital_events: [{ type: "death", date: "2025-11-02" }],
  });
  assert.deepEqual(read({ death_date: "2025-11-02T08:00:00Z", details: { death_place: "Northgate" } }), {
    vital_events: [{ type: "death", date: "2025-11-02", place: { locality: "Northgate" } }],
  });
});

Deno.test("crvs readDetails() returns undefined for a record with nothing civil-registry specific", () => {
  assert.equal(read({ birth_date: "2000-01-01", name: { given_name: "A" } }), undefined);
  assert.equal(read({ details: {} }), undefined);
});

Deno.test("crvs readDetails() refuses every unknown field, naming it", () => {
  const errors = detailErrors({
    birth_date: "2000-01-01",
    details: {
      x: 1,
      vital_events: [{ type: "marriage", date: "2020-01-01", witness: "B" }],
      birth_place: { locality: "Riverside", planet: "Earth" },
      parent1_identifier: { identifier_type: "UIN", identifier_value: "1", issuer: "X" },
    },
  });
  assert.deepEqual(errors.sort(), [
    "details.birth_place.planet: unknown field (use name, address_line, locality, region_code)",
    "details.parent1_identifier.issuer: unknown field",
    "details.vital_events[0].witness: unknown field",
    "details.x: unknown field",
  ]);
  assert.deepEqual(detailErrors({ details: [1] }), ["details: expected an object"]);
});

Deno.test("crvs readDetails() checks event types and marital status against the code lists, accepting their names", () => {
  const out = read({
    birth_date: "1990-01-01",
    details: {
      vital_events: [
        { type: "spdci-common:RegistryEventType:Marriage", date: "2015-05-05" },
        { type: "Divorce", date: "2019-09-09" },
        { type: "event:adoption", date: "1991-01-01" },
      ],
      marital_status: "Divorced",
    },
  });
  assert.deepEqual(out, {
    vital_events: [
      { type: "adoption", date: "1991-01-01" },
      { type: "marriage", date: "2015-05-05" },
      { type: "divorce", date: "2019-09-09" },
    ],
    marital_status: "D",
  });
  assert.deepEqual(read({ details: { marital_status: "category:W" } }), {
    vital_events: [],
    marital_status: "W",
  });
  assert.deepEqual(detailErrors({ details: { vital_events: [{ type: "baptism", date: "2020-01-01" }] } }), [
    'details.vital_events[0].type: "baptism" is not one of live_birth, death, fetal_death, marriage, divorce, adoption',
  ]);
  assert.deepEqual(detailErrors({ details: { marital_status: "complicated" } }), [
    'details.marital_status: "complicated" is not one of S, M, W, A, D, L, U',
  ]);
});

Deno.test("crvs readDetails() normalises dates and refuses what is not one", () => {
  assert.deepEqual(read({ details: { marriage_date: "2020-02-29T10:00:00+03:00" } }), {
    vital_events: [{ type: "marriage", date: "2020-02-29" }],
  });
  assert.deepEqual(detailErrors({ details: { marriage_date: ["2021-02-29"], divorce_date: "soon" } }), [
    'details.marriage_date[0]: "2021-02-29" is not a date (YYYY-MM-DD)',
    'details.divorce_date[0]: "soon" is not a date (YYYY-MM-DD)',
    "details.marriage_date[0]: a marriage event needs a date",
    "details.divorce_date[0]: a divorce event needs a date",
  ]);
});

Deno.test("crvs readDetails() keeps events and core dates consistent", () => {
  assert.deepEqual(
    detailErrors({
      birth_date: "2000-01-01",
      details: { vital_events: [{ type: "live_birth", date: "2000-01-02" }] },
    }),
    ["details.vital_events[0].date: 2000-01-02 differs from birth_date (2000-01-01)"],
  );
  assert.deepEqual(detailErrors({ details: { vital_events: [{ type: "death", date: "2020-01-01" }] } }), [
    "details.vital_events[0].date: 2020-01-01 differs from death_date (none)",
  ]);
  assert.deepEqual(detailErrors({ details: { death_place: "Northgate" } }), [
    "details.death_place: a death event needs a date",
  ]);
  assert.deepEqual(detailErrors({ birth_date: "2000-01-01", details: { marriage_date: "1999-12-31" } }), [
    "details.marriage_date[0]: 1999-12-31 is before birth_date (2000-01-01)",
  ]);
  assert.deepEqual(
    detailErrors({
      birth_date: "2000-01-01",
      details: { vital_events: [{ type: "live_birth", place: "Riverside" }], birth_place: "Hillcrest" },
    }),
    ["details.birth_place: the live_birth event has a place already"],
  );
  assert.deepEqual(
    detailErrors({
      death_date: "2020-01-01",
      details: { vital_events: [{ type: "fetal_death", date: "2020-01-01" }] },
    }),
    ["details.vital_events: a fetal_death record has no live_birth or death"],
  );
  assert.deepEqual(
    detailErrors({
      details: { vital_events: ["adoption:2020-01-01", "adoption:2020-01-01"], marriage_date: "2020-01-01" },
    }),
    [],
    "the same event twice is one event",
  );
  assert.deepEqual(
    detailErrors({ details: { vital_events: ["fetal_death:2020-01-01", "fetal_death:2021-01-01"] } }),
    ["details.vital_events: more than one fetal_death"],
  );
});

Deno.test("crvs readDetails() reads the CSV forms: TYPE:DATE|... events, |-separated dates, TYPE:VALUE parents", () => {
  assert.deepEqual(
    read({
      birth_date: "1980-01-01",
      details: {
        vital_events: "adoption:1981-06-01|live_birth",
        marriage_date: "2001-01-01|2010-10-10",
        parent1_identifier: "UIN:537564821",
      },
    }),
    {
      vital_events: [
        { type: "live_birth", date: "1980-01-01" },
        { type: "adoption", date: "1981-06-01" },
        { type: "marriage", date: "2001-01-01" },
        { type: "marriage", date: "2010-10-10" },
      ],
      parent1_identifier: { type: "UIN", value: "537564821" },
    },
  );
});

Deno.test("crvs readDetails() bounds its input: event count, text length, identifier shape", () => {
  const many = Array.from({ length: 40 }, (_, i) => `adoption:${2000 + i}-01-01`);
  assert.deepEqual(detailErrors({ details: { vital_events: many } }), [
    "details.vital_events: at most 32 events",
  ]);
  assert.deepEqual(
    detailErrors({ details: { death_place: { name: "x".repeat(300) } }, death_date: "2020-01-01" }),
    [
      "details.death_place.name: expected a string of at most 256 characters",
    ],
  );
  assert.deepEqual(detailErrors({ details: { parent2_identifier: { identifier_type: "UIN" } } }), [
    'details.parent2_identifier: expected {identifier_type, identifier_value} or "TYPE:VALUE"',
  ]);
  assert.deepEqual(detailErrors({ details: { vital_events: [42] } }), [
    "details.vital_events[0]: expected {type, date, place}",
  ]);
  // A value JSON has already rounded (9007199254740993 reads as …992) is refused, a safe one read as text.
  assert.deepEqual(
    detailErrors({
      details: { parent2_identifier: { identifier_type: "UIN", identifier_value: 9007199254740993 } },
    }),
    [
      "details.parent2_identifier: 9007199254740992 is a number beyond 2^53, which JSON readers round: write it as a string",
    ],
  );
  assert.deepEqual(
    detailErrors({ details: { parent2_identifier: { identifier_type: "UIN", identifier_value: 12345 } } }),
    [],
  );
});
