/** The DR yaml as the suite reads it: the one relaxation the DR's notifications need (tests/helpers/spec_defects.ts). */
import assert from "node:assert/strict";
import { specErrors } from "../helpers/spec_validator.ts";
import { readDr } from "./dr_fixture.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";

const NOTIFY = "/components/schemas/NotifyEventRequest";

function notify(eventType: string) {
  const reg = readDr({ id: "n-1", details: { disability_status: "Approved" } });
  return {
    transaction_id: "n-1",
    notify_event: [{
      reference_id: "n-1",
      timestamp: "2026-01-01T00:00:00Z",
      data: {
        version: "1.0.0",
        reg_type: drProfile.regType,
        reg_event_type: eventType,
        reg_record_type: drProfile.recordTypes[0].names[0],
        reg_records: drProfile.toRecord(reg, drProfile.recordTypes[0], { withContext: true }),
      },
    }],
  };
}

Deno.test("the DR yaml's notify takes REGISTER as published, and UPDATE and DELETE only as relaxed", () => {
  assert.deepEqual(specErrors("dr", NOTIFY, notify("REGISTER"), { raw: true }), []);
  assert.match(
    specErrors("dr", NOTIFY, notify("UPDATE"), { raw: true }).join(),
    /reg_event_type: must be equal/,
  );
  for (const type of ["REGISTER", "UPDATE", "DELETE"]) {
    assert.deepEqual(specErrors("dr", NOTIFY, notify(type)), []);
  }
});
