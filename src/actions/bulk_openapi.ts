/**
 * The OpenAPI description of a bulk search upload: the spec's `FileInfo` (common/schema/FileInfo.yaml, as the
 * registry yamls reference it for `multipart/form-data`) and the parts this server reads beside it, documented as
 * the second body of each registry's async search. Plain schema objects, not zod: the upload is parsed by
 * src/actions/bulk_route.ts as it streams, and a zod form schema would make the route validate every body as a
 * form too.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import { BULK_FORMATS } from "../transactions/bulk_file.ts";
import { Ack } from "../dci/schemas.ts";
import { json } from "./openapi.ts";
import { UploadHeader } from "./bulk_route.ts";

/** The spec's FileInfo, as its yaml has it. */
const FILE_INFO = {
  type: "object",
  description: "File info. Used in file upload feature using HTTPS",
  properties: {
    action: {
      description:
        "SPDCI Connect specific actions. Usually verb from the URI should go here to help store and fwd kind of processing requirements.",
      type: "string",
    },
    fileName: {
      description:
        "Disbursement instruction file representing Disburse or OnDisburse end point elements i.e signature/header/message entities as a file record",
      type: "string",
      format: "binary",
    },
    fileFormat: {
      description: "File content format. e.g json, csv, etc.,",
      type: "string",
      default: "json",
      examples: ["csv"],
    },
  },
  required: ["action", "fileName"],
} as const;

/** The upload of a bulk search: FileInfo with action `search` (as the registry yamls narrow it), plus our parts. */
const BULK_SEARCH_UPLOAD = {
  description:
    "A bulk search by file (the spec's FileInfo): the parts `header`, `transaction_id`, `action` and " +
    "`fileFormat` (before the file), and the file as `fileName`. The file holds idtype-value lookups: a JSON array of " +
    "`{type, value, reference_id?}` objects (or of search items with idtype-value search_criteria), or a CSV whose " +
    "header row names `type`, `value` and optionally `reference_id`; a lookup without reference_id gets its " +
    "1-based position. At most DCI_BULK_MAX_ITEMS lookups and DCI_BULK_MAX_FILE_BYTES bytes. The request is " +
    "signed (RFC 9421) over its headers including Content-Digest, which is checked against the body as it " +
    "streams. The answers come as several signed on-search callbacks of DCI_BULK_PAGE_SIZE items each, in " +
    "order, with X-DCI-Page: n/total.",
  allOf: [
    { $ref: "#/components/schemas/FileInfo" },
    {
      type: "object",
      properties: {
        action: { type: "string", enum: ["search"] },
        fileFormat: {
          type: "string",
          enum: [...BULK_FORMATS],
          default: "json",
          description:
            "Before the file part; when it is left out, a file name ending in .csv (or a CSV content type) is " +
            "read as CSV, anything else as JSON",
        },
        fileName: {
          type: "string",
          format: "binary",
          description: "The lookups file (JSON array or CSV table)",
        },
        header: {
          $ref: "#/components/schemas/BulkUploadHeader",
          description:
            "The DCI request header as a JSON text (header.action search); total_count may be left out (the " +
            "file's count of lookups is the count; a total_count that differs is refused)",
        },
        transaction_id: {
          type: "string",
          minLength: 1,
          maxLength: 99,
          description:
            "The transaction's id (txn/status finds the search by it); header.message_id when left " +
            "out. A repeated upload is told by its header's message_id and message_ts, not by this",
        },
      },
      required: ["header"],
    },
  ],
} as const;

/** The `multipart/form-data` entry of an async search's request body. */
export function bulkUploadContent() {
  return {
    "multipart/form-data": {
      schema: { $ref: "#/components/schemas/BulkSearchUpload" },
      encoding: {
        header: { contentType: "application/json" },
        fileName: { contentType: "application/json, text/csv" },
      },
    },
  } as const;
}

/** Registers BulkUploadHeader, FileInfo and BulkSearchUpload as schema components of `app`'s document. */
export function registerBulkSchemas(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("BulkUploadHeader", UploadHeader);
  app.openAPIRegistry.registerComponent("schemas", "FileInfo", FILE_INFO as never);
  app.openAPIRegistry.registerComponent("schemas", "BulkSearchUpload", BULK_SEARCH_UPLOAD as never);
}

/** The failures whose causes an upload adds (beside ERROR_RESPONSES). */
export const BULK_ERROR_RESPONSES = {
  413: {
    description:
      "ERR ACK: the body is larger than DCI_BODY_LIMIT (a multipart upload: than DCI_BULK_MAX_FILE_BYTES)",
    content: json(Ack),
  },
  415: {
    description: "ERR ACK: the body must be sent as application/json or multipart/form-data",
    content: json(Ack),
  },
} as const;
