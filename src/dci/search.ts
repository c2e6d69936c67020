/**
 * Search request/response messages in zod, for route validation and the OpenAPI document.
 * Item fields are validated loosely on purpose: a bad item is answered with its own `rjct` code
 * (rjct.reference_id.invalid, rjct.pagination.invalid, ...) instead of failing the whole request.
 */
import { z } from "@hono/zod-openapi";
import { HeaderId, OptionalLocale, RequestStatus } from "./schemas.ts";
import { MAX_CURSOR_LENGTH } from "./limits.ts";

/** Query types (graphql is answered rjct.search_criteria.invalid). */
export const QueryTypeEnum = z.enum(["idtype-value", "predicate", "expression"]);

/** One sort key. */
export const SearchSort = z.object({
  attribute_name: z.string().openapi({ example: "birth_date" }),
  sort_order: z.enum(["asc", "desc"]).optional().openapi({ description: "In any case; asc when absent" }),
}).openapi("SearchSort");

/** Requested page: by number, or after a `next_cursor` of the previous page. */
export const PaginationRequest = z.object({
  page_size: z.number().int().min(1).optional().openapi({
    example: 20,
    description: "At most DCI_MAX_PAGE_SIZE, which it defaults to",
  }),
  page_number: z.number().int().min(1).optional().openapi({ example: 1 }),
  cursor: z.string().max(MAX_CURSOR_LENGTH).optional().openapi({
    description:
      "The next_cursor of the previous page (keyset: stable while records are added); page_number " +
      "is then not used",
  }),
}).openapi("PaginationRequest");

/** A predicate expression. */
export const ExpPredicate = z.object({
  attribute_name: z.string().openapi({ example: "birth_date" }),
  operator: z.enum(["eq", "ne", "gt", "ge", "lt", "le", "in", "contains", "like"]),
  attribute_value: z.unknown().openapi({ example: "2000-11-02" }),
}).openapi("ExpPredicate");

/** A predicate item: expression1 [condition expression2]. */
export const ExpPredicateWithCondition = z.object({
  seq_num: z.number().optional(),
  expression1: ExpPredicate,
  condition: z.enum(["and", "or", "not"]).optional(),
  expression2: ExpPredicate.optional(),
}).openapi("ExpPredicateWithCondition");

/** A reference to a schema of the document's components. */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The search criteria: documented (it is only ever read item by item, each fault its item's rjct code, never the
 * request's 400), registered in the document with SearchSort, PaginationRequest and ExpPredicateWithCondition.
 */
export const SearchCriteria = z.looseObject({
  version: z.string().optional(),
  reg_type: z.string().optional().openapi({
    example: "ns:org:RegistryType:Social",
    description:
      "The registry of the path (its RegistryType, or a name of one of its record types), or absent",
  }),
  reg_record_type: z.string().optional().openapi({
    example: "SRPerson",
    description: "One of the registry's record types (see the registry's tag); its first when absent",
  }),
  response_entity: z.string().optional().openapi({ description: "A record type, as reg_record_type" }),
  query_type: z.enum(QueryTypeEnum.options).openapi({ example: "predicate" }),
  query: z.unknown().openapi({
    description:
      "idtype-value {type, value} (or {id_type, id_value}); predicate ExpPredicateWithCondition[] " +
      "or a CEL string ({expression} or {value}); expression {type, value: {expression}} (MongoDB-style, " +
      "OpenSPP {seq, or} or OpenG2P {query: {search_text: {$eq}}})",
    anyOf: [
      {
        type: "object",
        description: "idtype-value",
        properties: { type: { type: "string", example: "UIN" }, value: { type: "string" } },
      },
      { type: "array", description: "predicate", items: ref("ExpPredicateWithCondition") },
      { type: "object", description: "expression", additionalProperties: true },
      { type: "string", description: "predicate as CEL" },
    ],
    example: [{
      seq_num: 1,
      expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "2000-11-02" },
      condition: "and",
      expression2: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
    }],
  }),
  sort: z.unknown().optional().openapi({
    type: "array",
    maxItems: 5,
    items: ref("SearchSort"),
    description: "A list (or one object) of record attributes (birth_date, surname…; a person by its " +
      "household's poverty_score, group_size, group_type); an identifier type (UIN) orders a single match " +
      "only, a search finding more is refused rjct.sort.invalid",
  }),
  pagination: z.unknown().optional().openapi(ref("PaginationRequest")),
  consent: z.unknown().optional().openapi({
    description: "The spec's Consent: accepted (any value), not read",
  }),
  authorize: z.unknown().optional().openapi({
    description:
      "The spec's Authorize: accepted (any value), not read (the bearer token and signature authorise)",
  }),
}).openapi("SearchCriteria", { required: ["query_type", "query"] });

/** One search request item. */
export const SearchRequestItem = z.looseObject({
  reference_id: z.unknown().openapi({ type: "string", maxLength: 99, example: "ref-1" }),
  timestamp: z.unknown().openapi({ type: "string", format: "date-time", example: "2026-01-01T00:00:00Z" }),
  search_criteria: z.unknown().openapi(ref("SearchCriteria")),
  locale: OptionalLocale,
}).openapi("SearchRequestItem", { required: ["reference_id", "timestamp", "search_criteria"] });

/** The search request message. */
export const SearchRequest = z.looseObject({
  transaction_id: HeaderId.openapi({ example: "txn-0001" }),
  search_request: z.array(SearchRequestItem).min(1),
}).openapi("SearchRequest");

/** Page information of an answer; `next_cursor` when more records follow (send it as pagination.cursor). */
export const Pagination = z.object({
  page_size: z.number().int(),
  page_number: z.number().int(),
  total_count: z.number().int(),
  next_cursor: z.string().optional(),
}).openapi("Pagination");

/** Per-item reason codes of a search answer. */
export const SearchStatusReasonCode = z.enum([
  "rjct.reference_id.invalid",
  "rjct.reference_id.duplicate",
  "rjct.timestamp.invalid",
  "rjct.search_criteria.invalid",
  "rjct.filter.invalid",
  "rjct.sort.invalid",
  "rjct.pagination.invalid",
  "rjct.search.too_many_records_found",
]).openapi("SearchStatusReasonCode");

/** One answered item. */
export const SearchResponseItem = z.object({
  reference_id: z.string(),
  timestamp: z.string(),
  status: RequestStatus,
  status_reason_code: SearchStatusReasonCode.optional(),
  status_reason_message: z.string().max(999).optional(),
  data: z.object({
    version: z.string(),
    reg_type: z.string(),
    reg_record_type: z.string().openapi({
      example: "SRPerson",
      description: "The record type answered: one of the registry's (see the registry's tag)",
    }),
    reg_records: z.array(z.record(z.string(), z.unknown())).openapi({
      description: "Records of reg_record_type, in the registry's JSON-LD shape (see the registry's tag)",
    }),
  }).optional(),
  pagination: Pagination.optional(),
  locale: z.string().optional(),
}).openapi("SearchResponseItem");

/** The on-search message. */
export const SearchResponse = z.object({
  transaction_id: z.string(),
  correlation_id: z.string(),
  search_response: z.array(SearchResponseItem),
}).openapi("SearchResponse");
