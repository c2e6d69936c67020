/** crvs toRecord: civil registry registrants as spdci CRVS_Person records, checked against the JSON-LD classes. */
import assert from "node:assert/strict";
import { CRVS_PERSON_RECORD, crvsProfile } from "../../src/registries/crvs/mod.ts";
import { crvsTestRecords } from "../../src/registries/crvs/demo.ts";
import { crvsRecord, crvsRegistrant, crvsValidator } from "./crvs_fixture.ts";

type Json = Record<string, unknown>;

function fixed(brnOrDrn: string): Json {
  return crvsTestRecords().find((r) =>
    (r.identifier as Json[]).some((i) => i.identifier_value === brnOrDrn)
  )!;
}

Deno.test("crvs toRecord() maps the BIRTH-TEST-001 birth: CRVS_Person with birth place and both parents", () => {
  const rec = crvsRecord(fixed("BIRTH-TEST-001"));
  assert.deepEqual(crvsValidator.validate(rec, "CRVS_Person"), []);
  assert.equal(rec["@type"], "CRVS_Person");
  assert.equal(rec["@id"], "CRVS-TEST-BIRTH");
  assert.deepEqual((rec["@context"] as Json)["@vocab"], "https://schema.spdci.org/extensions/crvs/v1/data");
  assert.deepEqual(rec.identifier, [{
    "@type": "Identifier",
    identifier_type: "BRN",
    identifier_value: "BIRTH-TEST-001",
  }]);
  assert.equal(rec.birth_date, "2025-03-14T00:00:00Z");
  assert.deepEqual(rec.birth_place, {
    "@type": "Place",
    name: "Riverside District Hospital",
    contained_in_place: {
      "@type": "Place",
      name: "Riverside",
      contained_in_place: { "@type": "Place", "@id": "central_region" },
    },
  });
  assert.deepEqual(rec.parent1_identifier, {
    "@type": "Identifier",
    identifier_type: "UIN",
    identifier_value: "PARENT-TEST-001",
  });
  assert.deepEqual(rec.parent2_identifier, {
    "@type": "Identifier",
    identifier_type: "UIN",
    identifier_value: "PARENT-TEST-002",
  });
  assert.equal(rec.death_date, undefined);
});

Deno.test("crvs toRecord() maps the DEATH-TEST-001 death: death date, place and marital status", () => {
  const rec = crvsRecord(fixed("DEATH-TEST-001"));
  assert.deepEqual(crvsValidator.validate(rec, "CRVS_Person"), []);
  assert.equal(rec.death_date, "2025-11-02T00:00:00Z");
  assert.equal((rec.death_place as Json).name, "Northgate Health Centre");
  assert.equal(rec.marital_status, "W");
  assert.deepEqual(
    (rec.identifier as Json[]).map((i) => `${i.identifier_type}:${i.identifier_value}`),
    ["DRN:DEATH-TEST-001", "UIN:DECEASED-TEST-001"],
  );
});

Deno.test("crvs toRecord() maps marriages and divorces to the class's date lists; every property is one of the class", () => {
  const rec = crvsRecord({
    id: "X1",
    identifier: [{ identifier_type: "UIN", identifier_value: "1" }],
    name: { given_name: "Elena", surname: "Martinez" },
    sex: "female",
    birth_date: "1980-03-23",
    phone_number: ["+34612345678"],
    email: ["elena.martinez@example.com"],
    address: [{
      address_line_1: "Bophut",
      locality: "Riverside",
      region_code: "central_region",
      country_code: "zz",
    }],
    details: {
      birth_place: { locality: "Riverside", region_code: "central_region", address_line: "12 Main Road" },
      marriage_date: ["2001-01-01", "2010-10-10"],
      divorce_date: "2005-05-05",
      marital_status: "M",
      vital_events: [{ type: "adoption", date: "1981-01-01" }],
    },
  });
  assert.deepEqual(crvsValidator.validate(rec, "CRVS_Person"), []);
  assert.deepEqual(rec.marriage_date, ["2001-01-01T00:00:00Z", "2010-10-10T00:00:00Z"]);
  assert.deepEqual(rec.divorce_date, ["2005-05-05T00:00:00Z"]);
  assert.deepEqual(rec.birth_place, {
    "@type": "Place",
    name: "Riverside",
    address_line: "12 Main Road",
    contained_in_place: { "@type": "Place", "@id": "central_region" },
  });
  const used = Object.keys(rec).filter((k) => !k.startsWith("@")).sort();
  const allowed = new Set(crvsValidator.propertiesOf("CRVS_Person"));
  assert.ok(used.every((k) => allowed.has(k)), `${used}`);
  assert.deepEqual(used, [
    "address",
    "birth_date",
    "birth_place",
    "divorce_date",
    "email",
    "identifier",
    "last_updated",
    "marital_status",
    "marriage_date",
    "name",
    "phone_number",
    "registration_date",
    "sex",
  ]);
});

Deno.test("crvs toRecord() without context for nested use; the validator catches wrong records", () => {
  const reg = crvsRegistrant(fixed("BIRTH-TEST-001"));
  const nested = crvsProfile.toRecord(reg, CRVS_PERSON_RECORD, { withContext: false });
  assert.equal(nested["@context"], undefined);
  const bad = { ...nested, marital_status: "Married", marriage_date: "2001-01-01", vital_events: [] };
  assert.deepEqual(crvsValidator.validate(bad, "CRVS_Person"), [
    'CRVS_Person.marital_status: "Married" is not in MaritalStatusEnum',
    "CRVS_Person.marriage_date: expected a list",
    "CRVS_Person.vital_events: not a property of CRVS_Person",
  ]);
  assert.deepEqual(
    crvsValidator.validate({ birth_place: { name: 1, geo: { latitude: "x" } } }, "CRVS_Person"),
    [
      "CRVS_Person.birth_place.name: expected xsd:string, not 1",
      'CRVS_Person.birth_place.geo.latitude: expected xsd:decimal, not "x"',
    ],
  );
});
