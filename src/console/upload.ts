/**
 * A console file upload (multipart/form-data) streamed part by part (busboy), never read whole: the CSRF field
 * comes first in the form, so it is checked before any byte of the file is taken; the file part is handed on as
 * a stream (to the import spool).
 */
import { Readable, type Writable } from "node:stream";
import { type MultipartParser, multipartParser } from "../http/multipart.ts";

/** The upload had no valid CSRF field before its file: the form was forged or tampered with. */
export class UploadCsrfError extends Error {}

/** The upload is not what the form sends (no file part, a broken body), its CSRF token verified. */
export class UploadFormError extends Error {}

/** A file part: its stream and what the browser said about it. */
export interface UploadedFile {
  stream: ReadableStream<Uint8Array>;
  fileName: string;
  mimeType: string;
}

/**
 * Reads the multipart `body` until its file field `field`, checking the `_csrf` field before it with
 * `csrfOk`; resolves with what `take` made of the file (it must consume the stream). A failing body (over its
 * size limit, cut off) fails the file's stream and the returned promise with the body's error.
 */
export function streamUpload<T>(
  body: ReadableStream<Uint8Array> | null,
  contentType: string | undefined,
  options: { field: string; csrfOk: (token: string) => boolean; take: (file: UploadedFile) => Promise<T> },
): Promise<T> {
  // No CSRF token can be read from such a body: refused as forged (403), before anything is kept in the session.
  if (!body || !/^multipart\/form-data/i.test(contentType ?? "")) return Promise.reject(noCsrf());
  return multipartParser(contentType, { files: 1, fields: 8, fieldSize: 4096, parts: 9 }).then(
    (parser) => readUpload(body, parser, options),
    () => Promise.reject(noCsrf()),
  );
}

const noCsrf = () => new UploadCsrfError("This form has no valid CSRF token: reload the page and try again.");

function readUpload<T>(
  body: ReadableStream<Uint8Array>,
  parser: MultipartParser,
  options: { field: string; csrfOk: (token: string) => boolean; take: (file: UploadedFile) => Promise<T> },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const source = Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]);
    let csrf = false;
    let taken = false;
    let current: Readable | undefined;
    const fail = (err: unknown) => {
      current?.destroy(err as Error);
      source.destroy();
      reject(err);
    };
    parser.on("field", (name, value) => {
      if (name === "_csrf") csrf = options.csrfOk(value);
    });
    parser.on("file", (name, stream, info) => {
      // A body cut off inside a file part errors that part's stream too: unheard, the error ended the process.
      stream.on("error", (err) => fail(new UploadFormError((err as Error).message)));
      if (taken || name !== options.field) {
        stream.resume();
        return;
      }
      taken = true;
      if (!csrf) {
        stream.resume();
        return fail(noCsrf());
      }
      current = stream;
      options.take({
        stream: Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>,
        fileName: info.filename ?? "",
        mimeType: info.mimeType ?? "",
      }).then(resolve, fail);
    });
    // A form that ends or breaks before its file is the operator's to fix only once its token verified: a
    // forged one is refused (403) and changes nothing, not even the session's message.
    parser.on("close", () => {
      if (!taken) fail(csrf ? new UploadFormError("Choose a file to import.") : noCsrf());
    });
    parser.on("error", (err) => fail(csrf ? new UploadFormError((err as Error).message) : noCsrf()));
    source.on("error", fail);
    source.pipe(parser as unknown as Writable);
  });
}
