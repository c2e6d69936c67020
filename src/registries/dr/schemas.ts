/**
 * The zod schemas of the DR-specific messages (dr_api_v1.0.0.yaml: DisabledRequest / DisabledResponse,
 * GetDisabilitySupportRequest → GetDisabilityInfoResponse / GetDisabilitySupportResponse), the contract of
 * both validation and the OpenAPI document. Requests are read as tolerantly as the yaml allows (a bad query is
 * answered per item); answers are exact, their records typed from the DR class declarations.
 */
import { z } from "@hono/zod-openapi";
import { DateTime, HeaderId } from "../../dci/schemas.ts";
import { Pagination, SearchStatusReasonCode } from "../../dci/search.ts";
import { MAX_CODE } from "../../dci/limits.ts";
import { type ClassDef, DISABILITY_SUPPORT, type Field, PWD_DETAILS } from "./classes.ts";
import { labels } from "./codes.ts";

const cache = new Map<ClassDef, z.ZodType>();

function fieldSchema(field: Field): z.ZodType {
  switch (field.kind) {
    case "code":
      return z.enum(labels(field.codes)).openapi({ description: `${field.codes.name} label` });
    case "relationship":
      return z.string().openapi({ description: "RelationshipTypeEnum code", example: "PRN" });
    case "idType":
      return z.string().openapi({ example: "UIN" });
    case "text":
      return z.string().max(field.max);
    case "dateTime":
      return DateTime;
    case "object":
      return classSchema(field.cls);
    case "list":
      return z.array(classSchema(field.cls)).max(field.max);
  }
}

/** The zod schema of a DR class as records carry it (`@type` and the declared properties, all optional). */
export function classSchema(cls: ClassDef): z.ZodType {
  let schema = cache.get(cls);
  if (!schema) {
    const shape: Record<string, z.ZodType> = { "@type": z.literal(cls.name).optional() };
    for (const [name, field] of Object.entries(cls.fields)) shape[name] = fieldSchema(field).optional();
    schema = z.object(shape).openapi(cls.name.startsWith("DR") ? cls.name : `DR${cls.name}`);
    cache.set(cls, schema);
  }
  return schema;
}

/** The query types the yaml names (graphql is answered per item: not supported). */
const QUERY_TYPES = ["idtype-value", "expression", "predicate", "graphql"];

/** DisabledRequest.disabled_criteria: which person to answer about. */
export const DisabledCriteria = z.looseObject({
  query_type: z.string().max(MAX_CODE).optional().openapi({ enum: QUERY_TYPES, example: "idtype-value" }),
  query: z.record(z.string(), z.unknown()).optional().openapi({
    description: "The person, by an identifier: idtype-value {type, value}; expression " +
      '{"member.member_identifier": {"eq": value}} (or {"UIN": {"eq": value}}, {"identifier": {"eq": ' +
      "{type, value}}}); predicate {expression1: {attribute_name, operator: eq, attribute_value}}",
    example: { type: "UIN", value: "DISABILITY-TEST-001" },
  }),
}).openapi("DisabledCriteria");

/** A request naming one person by `disabled_criteria` (the yaml's two request schemas have this one shape). */
function criteriaRequest(name: string) {
  return z.looseObject({
    transaction_id: HeaderId.openapi({ example: "txn-0001" }),
    disabled_criteria: DisabledCriteria,
  }).openapi(name);
}

/** The DisabledRequest message (`sync/disabled`). */
export const DisabledRequest = criteriaRequest("DisabledRequest");

/** The GetDisabilitySupportRequest message (`sync/get-disability-details` and `sync/get-disability-support`). */
export const GetDisabilitySupportRequest = criteriaRequest("GetDisabilitySupportRequest");

const Status = z.enum(["rcvd", "pdng", "succ", "rjct"]);

/** The DisabledResponse message: yes or no, and nothing else about the person. */
export const DisabledResponse = z.object({
  transaction_id: z.string(),
  correlation_id: z.string().max(99),
  disabled_response: z.array(z.object({
    reference_id: z.string(),
    timestamp: DateTime,
    status: Status,
    status_reason_message: z.string().max(999).optional(),
    disabled_status: z.enum(["yes", "no"]),
  })),
}).openapi("DisabledResponse");

function searchResponse(name: string, records: z.ZodType) {
  return z.object({
    transaction_id: z.string(),
    correlation_id: z.string().max(99),
    search_response: z.array(z.object({
      reference_id: z.string(),
      timestamp: DateTime,
      status: Status,
      status_reason_code: SearchStatusReasonCode.optional(),
      status_reason_message: z.string().max(999).optional(),
      data: z.object({ version: z.string(), reg_records: records }).optional(),
      pagination: Pagination.optional(),
      locale: z.string().optional(),
    })),
  }).openapi(name);
}

/** A person's disability part: PWDPerson without personal_details (data minimisation). */
export const DisabilityInfoRecord = z.object({
  ...(classSchema(PWD_DETAILS) as z.ZodObject).shape,
  "@context": z.record(z.string(), z.string()).optional(),
  "@type": z.literal("PWDPerson"),
  "@id": z.string(),
  registration_date: DateTime,
  last_updated: DateTime,
}).openapi("DRDisabilityInfoRecord");

/** GetDisabilityInfoResponse (`sync/get-disability-details`): each matched person's disability part. */
export const GetDisabilityInfoResponse = searchResponse(
  "GetDisabilityInfoResponse",
  z.array(DisabilityInfoRecord),
);

/** GetDisabilitySupportResponse (`sync/get-disability-support`): per matched person, their DisabilitySupport list. */
export const GetDisabilitySupportResponse = searchResponse(
  "GetDisabilitySupportResponse",
  z.array(z.array(classSchema(DISABILITY_SUPPORT))),
);
