/**
 * The IBR yaml's two sync operations (sync/enrolled, sync/enrollment/updates) declare no response envelope (a
 * defect relaxed in tests/helpers/spec_defects.ts "ibr-sync-responses"): the suite checks their answers as the
 * signed envelopes every other sync operation answers, with the yaml's own message schemas.
 */
import assert from "node:assert/strict";
import { answerErrors } from "../helpers/spec_check.ts";
import { rawSpecDocument } from "../helpers/spec_validator.ts";

const TS = "2026-01-01T00:00:00.000Z";

function envelope(action: string, message: unknown) {
  return {
    signature: "s",
    header: {
      version: "1.0.0",
      message_id: "m",
      message_ts: TS,
      action,
      status: "succ",
      total_count: 1,
      completed_count: 1,
      sender_id: "ibr.example.org",
      receiver_id: "spmis.example.org",
      is_msg_encrypted: false,
    },
    message,
  };
}

const ENROLLED = {
  transaction_id: "t",
  correlation_id: "c",
  enrolled_response: [{ reference_id: "r", timestamp: TS, status: "succ", enrolled_status: "yes" }],
};
const UPDATES = {
  transaction_id: "t",
  correlation_id: "c",
  enrolled_response: [{ reference_id: "r", timestamp: TS, status: "rjct", status_reason_message: "why" }],
};

Deno.test("ibr-sync-responses: the raw yaml gives a schema $ref as the two operations' default response", () => {
  const raw = rawSpecDocument("ibr").paths;
  assert.deepEqual(raw["/registry/sync/enrolled"].post.responses.default, {
    $ref: "#/components/schemas/EnrolledResponse",
  });
  assert.deepEqual(raw["/registry/sync/enrollment/updates"].post.responses.default, {
    $ref: "#/components/schemas/EnrollmentUpdatesResponse",
  });
});

Deno.test("ibr-sync-responses: enrolled and enrollment/updates answers are checked as signed envelopes", () => {
  const enrolled = "/dci_api/v1/ibr/registry/sync/enrolled";
  const updates = "/dci_api/v1/ibr/registry/sync/enrollment/updates";
  assert.deepEqual(answerErrors(enrolled, 200, envelope("on-search", ENROLLED)), []);
  assert.deepEqual(answerErrors(updates, 200, envelope("on-receipt", UPDATES)), []);
  assert.match(
    answerErrors(enrolled, 200, envelope("on-receipt", ENROLLED)).join(),
    /action: must be equal to one of/,
  );
  const noStatus = { ...ENROLLED, enrolled_response: [{ reference_id: "r", timestamp: TS, status: "succ" }] };
  assert.match(answerErrors(enrolled, 200, envelope("on-search", noStatus)).join(), /enrolled_status/);
  assert.match(
    answerErrors(updates, 200, envelope("on-receipt", { transaction_id: "t" })).join(),
    /enrolled_response/,
  );
});
