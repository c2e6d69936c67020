/**
 * The streaming multipart/form-data parser (busboy) with the part of its API this project uses declared here: its
 * @types package pulls in an @types/node that conflicts with Deno's own node types. Used by the console's file
 * upload (src/console/upload.ts) and the bulk search upload (src/transactions/bulk_upload.ts).
 */
import type { Readable } from "node:stream";

/** A busboy parser: write the body into it; it emits each field and file part as it arrives. */
export interface MultipartParser {
  on(
    event: "field",
    listener: (name: string, value: string, info: { valueTruncated: boolean }) => void,
  ): this;
  on(
    event: "file",
    listener: (name: string, stream: Readable, info: { filename?: string; mimeType?: string }) => void,
  ): this;
  on(event: "close", listener: () => void): this;
  /** A part past the `files`, `fields` or `parts` limit: busboy skips it (and any after it) and says so only here. */
  on(event: "filesLimit" | "fieldsLimit" | "partsLimit", listener: () => void): this;
  on(event: "error", listener: (err: unknown) => void): this;
}

type Busboy = (config: {
  headers: Record<string, string | undefined>;
  limits?: Record<string, number>;
}) => MultipartParser;

let busboy: Promise<Busboy> | undefined;

/**
 * A parser for a body of `contentType` (rejects when it is not multipart with a boundary), within `limits`. busboy
 * is CommonJS, whose loader costs an isolate ~60 ms: it is loaded on the first upload, not at start-up.
 */
export async function multipartParser(
  contentType: string | undefined,
  limits: Record<string, number>,
): Promise<MultipartParser> {
  const make = await (busboy ??= import("busboy").then((m) => m.default as unknown as Busboy));
  return make({ headers: { "content-type": contentType }, limits });
}
