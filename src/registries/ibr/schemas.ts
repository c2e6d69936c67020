/**
 * The zod schemas of the IBR endpoints `sync/enrolled` (EnrolledRequest → EnrolledResponse) and
 * `sync/enrollment/updates` (EnrollmentUpdatesRequest → EnrollmentUpdatesResponse), as ibr_api_v1.0.0.yaml
 * defines them. Requests are read loosely (the spec's examples disagree with its schemas: the sample flows send
 * `receipt_information` where the schema says `enrolled_updates`, a predicate object where it says a map);
 * answers are exactly the spec's shapes.
 */
import { z } from "@hono/zod-openapi";
import { DateTime, Id99, RequestStatus } from "../../dci/schemas.ts";
import { MAX_CODE, MAX_FILTER_JSON, MAX_ID } from "../../dci/limits.ts";

/** The most beneficiaries one enrolment update may carry, and the most criteria one enrolled request. */
export const MAX_UPDATE_BENEFICIARIES = 1000;
export const MAX_ENROLLED_CRITERIA = 100;
/**
 * The most members one Beneficiary's group (`group.member_list`) may list: each is a record written on its own,
 * and households are far smaller (the demos' have at most 7 members). A longer list refuses that beneficiary.
 */
export const MAX_GROUP_MEMBERS = 100;

/** A query object of bounded size (it is read field by field, never turned into SQL text). */
const Query = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()).max(20)]).refine(
  (q) => JSON.stringify(q).length <= MAX_FILTER_JSON,
  { message: `query: larger than ${MAX_FILTER_JSON} bytes of JSON` },
).openapi({
  description: "Query expression: a map of attribute → {eq: value} (the spec's example), one " +
    "{attribute_name, operator, attribute_value}, a predicate list, or {type, value} for idtype-value",
  example: {
    person_identifier: { eq: "ABC451123" },
    "programme_identifier.program.programme_identifier": { eq: "DCI001" },
  },
});

/** One enrolled query (EnrolledRequest.enrolled_criteria). */
export const EnrolledCriteria = z.looseObject({
  reference_id: Id99.optional().openapi({ description: "Not in the spec: names the answer item when given" }),
  query_type: z.string().max(MAX_CODE).optional().openapi({ example: "expression" }),
  response_entity: z.string().max(MAX_CODE).optional().openapi({
    description: "Group or Member",
    example: "Member",
  }),
  // Optional in the yaml (EnrolledRequest names no required field): a criteria without one is answered as
  // its own item (enrolled_status no, with the reason), not the whole request refused.
  query: Query.optional(),
});

/** EnrolledRequest: one criteria object as the spec writes it (a list of them is accepted too). */
export const EnrolledRequest = z.looseObject({
  transaction_id: Id99,
  enrolled_criteria: z.union([EnrolledCriteria, z.array(EnrolledCriteria).min(1).max(MAX_ENROLLED_CRITERIA)]),
}).openapi("IbrEnrolledRequest");

/** The fields every answer item of both endpoints has. */
const ANSWER_ITEM = {
  reference_id: z.string(),
  timestamp: DateTime,
  status: RequestStatus,
  status_reason_message: z.string().max(999).optional(),
};

/** An answer message of both endpoints: the ids and `enrolled_response`, a list of `item`. */
function answer<T extends z.ZodType>(item: T) {
  return z.object({
    transaction_id: z.string().max(MAX_ID),
    correlation_id: z.string().max(MAX_ID),
    enrolled_response: z.array(item),
  });
}

/** EnrolledResponse: a yes/no per criteria (data minimisation: no record is returned). */
export const EnrolledResponse = answer(z.object({ ...ANSWER_ITEM, enrolled_status: z.enum(["yes", "no"]) }))
  .openapi("IbrEnrolledResponse");

/** The beneficiaries an SP system reports (EnrollmentUpdatesRequest.enrolled_updates). */
export const EnrolledUpdates = z.looseObject({
  receipt_type: z.string().max(MAX_CODE).optional().openapi({
    description: "enrolled (new enrolments; the default) or updated (updates of known beneficiaries)",
  }),
  // No minimum, as in the yaml: an empty list is answered with an empty enrolled_response.
  // Optional in the yaml too: none is an empty list.
  beneficiaries: z.array(z.record(z.string(), z.unknown())).max(MAX_UPDATE_BENEFICIARIES).default([]),
});

/**
 * EnrollmentUpdatesRequest: `enrolled_updates` (the schema) or `receipt_information` (the sample flows and the
 * TxnStatusResponse receipt shape), one of the two.
 */
export const EnrollmentUpdatesRequest = z.looseObject({
  transaction_id: Id99,
  enrolled_updates: EnrolledUpdates.optional(),
  receipt_information: EnrolledUpdates.optional(),
}).refine((m) => (m.enrolled_updates ?? m.receipt_information) !== undefined, {
  message: "enrolled_updates is required",
  path: ["enrolled_updates"],
}).openapi("IbrEnrollmentUpdatesRequest");

/** EnrollmentUpdatesResponse: one status per beneficiary. */
export const EnrollmentUpdatesResponse = answer(z.object(ANSWER_ITEM)).openapi(
  "IbrEnrollmentUpdatesResponse",
);
