/**
 * A deleted record is notified as its identifiers only, in every registry: fr's Farmer and dr's PWDPerson keep
 * theirs inside their personal details, and are sent with those objects holding the identifiers alone.
 */
import assert from "node:assert/strict";
import { identifiersOnly } from "../../src/subscriptions/delivery.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import { dciRecordOf } from "../../src/registries/records.ts";
import { profileOf } from "../../src/registries/index.ts";

const NOW = "2026-01-01T00:00:00.000Z";

Deno.test("a deleted record's notification names every identifier of the record and nothing else, in each registry", () => {
  for (const name of ["social", "crvs", "fr", "dr", "ibr"]) {
    const profile = profileOf(name)!;
    let checked = 0;
    for (const raw of profile.demo(20, 3)) {
      const reg = readRegistrant(raw, NOW, undefined, profile);
      if (reg.identifiers.length === 0) continue;
      const sent = JSON.stringify(identifiersOnly(dciRecordOf(reg, [], false)));
      for (const id of reg.identifiers) {
        assert.ok(sent.includes(JSON.stringify(id.value)), `${name} ${reg.externalId}: ${sent}`);
      }
      for (const word of [reg.name?.surname, reg.birthDate].filter((w) => w)) {
        assert.ok(!sent.includes(JSON.stringify(word)), `${name} ${reg.externalId} sends ${word}: ${sent}`);
      }
      checked++;
    }
    assert.ok(checked > 0, name);
  }
});
