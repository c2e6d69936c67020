/** crvs event types and attributes: which changes are which vital event; the searchable values of a record. */
import assert from "node:assert/strict";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { crvsTestRecords } from "../../src/registries/crvs/demo.ts";
import { vitalEventType } from "../../src/registries/crvs/vocabulary.ts";
import type { Registrant } from "../../src/registry/model.ts";
import { crvsRegistrant } from "./crvs_fixture.ts";

type Json = Record<string, unknown>;
type Change = "registration" | "update" | "delete";

const [PARENT1, , BIRTH, DEATH] = crvsTestRecords();

/** The first names of the event types a change matches. */
function matched(change: Change, after: Registrant, before?: Registrant): string[] {
  return crvsProfile.eventTypes.filter((t) => t.matches(change, after, before)).map((t) => t.names[0]);
}

function values(reg: Registrant): Record<string, Array<string | number>> {
  const out: Record<string, Array<string | number>> = {};
  for (const a of crvsProfile.attributes) {
    const v = a.values(reg);
    if (v.length) out[a.name] = v;
  }
  return out;
}

Deno.test("crvs event types are the six vital events, sent as the yaml writes them", () => {
  assert.deepEqual(crvsProfile.eventTypes.map((t) => t.names[0]), [
    "spdci-common:RegistryEventType:LiveBirth",
    "spdci-common:RegistryEventType:Death",
    "spdci-common:RegistryEventType:FetalDeath",
    "spdci-common:RegistryEventType:Marriage",
    "spdci-common:RegistryEventType:Divorce",
    "spdci-common:RegistryEventType:Adoption",
  ]);
  for (
    const name of ["LIVE_BIRTH", "LiveBirth", "event:live_birth", "spdci-common:RegistryEventType:LiveBirth"]
  ) {
    assert.equal(vitalEventType(name), "live_birth", name);
  }
  assert.equal(vitalEventType("REGISTER"), undefined);
});

Deno.test("crvs registering a birth is a LiveBirth event; registering a death is a Death event", () => {
  assert.deepEqual(matched("registration", crvsRegistrant(BIRTH)), [
    "spdci-common:RegistryEventType:LiveBirth",
  ]);
  assert.deepEqual(matched("registration", crvsRegistrant(DEATH)), ["spdci-common:RegistryEventType:Death"]);
  assert.deepEqual(matched("registration", crvsRegistrant(PARENT1)), [
    "spdci-common:RegistryEventType:LiveBirth",
    "spdci-common:RegistryEventType:Marriage",
  ]);
});

Deno.test("crvs an update is a vital event only when it records a new one", () => {
  const alive = crvsRegistrant({ ...DEATH, death_date: undefined, details: { marital_status: "W" } });
  const dead = crvsRegistrant(DEATH);
  assert.deepEqual(matched("update", dead, alive), ["spdci-common:RegistryEventType:Death"]);
  const corrected = crvsRegistrant({ ...DEATH, death_date: "2025-11-03" });
  assert.deepEqual(matched("update", corrected, dead), [], "correcting a death date is no new death");
  const renamed = crvsRegistrant({ ...DEATH, name: { given_name: "Sam", surname: "Banda" } });
  assert.deepEqual(matched("update", renamed, dead), []);
  const parent = crvsRegistrant(PARENT1);
  const divorced = crvsRegistrant({
    ...PARENT1,
    details: { ...(PARENT1.details as Json), divorce_date: "2024-01-01", marital_status: "D" },
  });
  assert.deepEqual(matched("update", divorced, parent), ["spdci-common:RegistryEventType:Divorce"]);
  const remarried = crvsRegistrant({
    ...PARENT1,
    details: { ...(PARENT1.details as Json), marriage_date: ["2019-06-01", "2025-01-01"] },
  });
  assert.deepEqual(matched("update", remarried, parent), ["spdci-common:RegistryEventType:Marriage"]);
  assert.deepEqual(matched("delete", dead, dead), [], "a deletion is no vital event");
});

Deno.test("crvs attribute values of the test birth and death: event type, date, place, parents, status", () => {
  assert.deepEqual(values(crvsRegistrant(BIRTH)), {
    vital_event_type: ["live_birth"],
    vital_event_date: ["2025-03-14"],
    vital_event_place: ["Riverside", "central_region"],
    birth_place: ["Riverside", "central_region"],
    parent_identifier: ["PARENT-TEST-001", "PARENT-TEST-002"],
    parent1_identifier: ["PARENT-TEST-001"],
    parent2_identifier: ["PARENT-TEST-002"],
  });
  assert.deepEqual(values(crvsRegistrant(DEATH)), {
    vital_event_type: ["death"],
    vital_event_date: ["2025-11-02"],
    vital_event_place: ["Northgate", "northern_region"],
    death_place: ["Northgate", "northern_region"],
    marital_status: ["W"],
  });
  assert.deepEqual(values(crvsRegistrant(PARENT1)), {
    vital_event_type: ["live_birth", "marriage"],
    vital_event_date: ["1994-04-12", "2019-06-01"],
    vital_event_place: ["Riverside", "central_region"],
    birth_place: ["Riverside", "central_region"],
    marriage_date: ["2019-06-01"],
    marital_status: ["M"],
  });
});

Deno.test("crvs attributes have unique names and aliases, none shadowing a core attribute", () => {
  const names = crvsProfile.attributes.flatMap((a) => [a.name, ...(a.aliases ?? [])]);
  assert.equal(new Set(names).size, names.length);
  for (const core of ["death_date", "birth_date", "given_name", "sex", "region", "locality", "uin", "brn"]) {
    assert.ok(!names.includes(core), core);
  }
  for (const a of crvsProfile.attributes) assert.deepEqual(a.on, ["crvs_person"]);
});

Deno.test("crvs a birth registered without a place (a BRN or a parent, and a birth_date) is a LiveBirth; an adult's birth_date alone is not", () => {
  const base = {
    id: "NB-1",
    name: { given_name: "Nia", surname: "Mensah" },
    sex: "female",
    birth_date: "2025-12-01",
  };
  const brn = crvsRegistrant({
    ...base,
    identifier: [{ identifier_type: "BRN", identifier_value: "BRN-NB-1" }],
  });
  const parent = crvsRegistrant({
    ...base,
    identifier: [{ identifier_type: "UIN", identifier_value: "U-NB-1" }],
    details: { parent1_identifier: "UIN:PARENT-TEST-001" },
  });
  const adult = crvsRegistrant({
    ...base,
    identifier: [{ identifier_type: "UIN", identifier_value: "U-AD-1" }],
  });
  for (const reg of [brn, parent]) {
    assert.deepEqual(matched("registration", reg), ["spdci-common:RegistryEventType:LiveBirth"]);
    assert.deepEqual(values(reg).vital_event_type, ["live_birth"]);
  }
  assert.deepEqual(matched("registration", adult), []);
});
