/**
 * Receiving a bulk search upload (`multipart/form-data`, the spec's FileInfo: `action`, `fileName` (the file),
 * `fileFormat` json|csv, plus our `header` and `transaction_id` parts): the body is streamed through busboy, its
 * bytes counted against DCI_BULK_MAX_FILE_BYTES and hashed for the Content-Digest the signature covers, and the
 * file's lookups written to a spool (spool_store.ts) as they are parsed (bulk_file.ts).
 */
import { Readable } from "node:stream";
import { createHash, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import { type MultipartParser, multipartParser } from "../http/multipart.ts";
import { BULK_FORMATS, BulkFileError, type BulkFormat, lookupReader } from "./bulk_file.ts";
import { SpoolError, type SpoolStore, type SpoolWriter } from "./spool_store.ts";
import { DciError } from "../dci/errors.ts";

/** The text parts of an upload (FileInfo's and ours), each at most 64 KiB. */
export interface UploadFields {
  action?: string;
  fileFormat?: string;
  header?: string;
  transaction_id?: string;
}

/** A received upload: its parts and the spool holding its lookups (committed). */
export interface Upload {
  fields: UploadFields;
  fileName: string;
  format: BulkFormat;
  items: number;
  /** The spool's name in the SpoolStore. */
  spool: string;
}

const FIELDS = new Set(["action", "fileFormat", "header", "transaction_id"]);
const TOUCH_EVERY_MS = 60_000;
/**
 * The longest an upload may send nothing before it is refused: well inside the orphan sweep's hour, so a stalled
 * upload's spool is never swept while it waits (its writes would go to a removed file and the ACK promise
 * nothing), and a stalled connection holds no spool for long.
 */
export const UPLOAD_IDLE_MS = 300_000;

/**
 * The upload's bytes are not the ones its Content-Digest names: the signature covering that digest does not
 * cover this body, a signature failure (as on a JSON request) rather than a bad file.
 */
export class UploadDigestMismatch extends Error {
  constructor() {
    super("Content-Digest does not match the body");
  }
}

/**
 * Streams the upload into a new spool `spool` of `spools`; throws BulkFileError for anything malformed or too
 * large, UploadDigestMismatch when its bytes do not match `contentDigest` (an RFC 9530 value), SpoolError when the
 * spool could not be written, each after removing the spool.
 */
export async function receiveUpload(
  request: Request,
  options: {
    spools: SpoolStore;
    spool: string;
    maxItems: number;
    maxBytes: number;
    contentDigest?: string;
    /** How often an arriving upload refreshes its spool's time (default a minute). */
    touchEveryMs?: number;
    /** How long the upload may send nothing before it is refused (default UPLOAD_IDLE_MS). */
    idleMs?: number;
    /**
     * How long the whole upload may take (the replay window: its message_ts is checked when it begins, and its
     * replay record kept long enough for an upload of this length).
     */
    maxMs?: number;
  },
): Promise<Upload> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!request.body) throw new BulkFileError("err.request.bad", "the multipart body is empty");
  const digest = options.contentDigest ? expectedDigest(options.contentDigest) : undefined;
  if (options.contentDigest && !digest) {
    throw new BulkFileError("err.request.bad", "Content-Digest has no sha-256 or sha-512 member");
  }
  const hash = digest ? createHash(digest.alg) : undefined;
  const spool = await options.spools.create(options.spool);
  let size = 0;
  let whole = false;
  let touched = Date.now();
  const idleMs = options.idleMs ?? UPLOAD_IDLE_MS;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let restartIdle = () => {};
  const counted = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(ctl) {
        // Restarted by each chunk: an upload that sends nothing for idleMs is refused.
        const stalled = () =>
          ctl.error(new BulkFileError("err.request.bad", `the upload sent nothing for ${idleMs / 1000} s`));
        idle = setTimeout(stalled, idleMs);
        if (options.maxMs !== undefined) {
          const late = () =>
            ctl.error(
              new BulkFileError("err.request.bad", `the upload took longer than ${options.maxMs! / 1000} s`),
            );
          deadline = setTimeout(late, options.maxMs);
        }
        restartIdle = () => {
          clearTimeout(idle);
          idle = setTimeout(stalled, idleMs);
        };
      },
      transform(chunk, ctl) {
        restartIdle();
        size += chunk.byteLength;
        // A slow upload's spool is written only a buffer of lookups at a time: its time is kept recent, so the
        // orphan sweep (bulk_spool_sweep.ts) never takes an upload still arriving.
        if (Date.now() - touched >= (options.touchEveryMs ?? TOUCH_EVERY_MS)) {
          touched = Date.now();
          spool.touch();
        }
        if (size > options.maxBytes) {
          return ctl.error(
            new BulkFileError("err.request.bad", `the upload is larger than ${options.maxBytes} bytes`, {
              status: 413,
            }),
          );
        }
        hash?.update(chunk);
        ctl.enqueue(chunk);
      },
      flush() {
        whole = true;
        clearTimeout(idle);
        clearTimeout(deadline);
      },
    }),
  );
  let matches: boolean | undefined;
  const mismatched = () => hash && digest && !(matches ??= sameBytes(hash.digest(), digest.bytes));
  try {
    const upload = await parseParts(counted, contentType, spool, options.maxItems);
    if (mismatched()) throw new UploadDigestMismatch();
    await spool.commit();
    return { ...upload, spool: options.spool };
  } catch (err) {
    await spool.abort();
    // A refused file is read to its end: a body that is not the signed one is refused as such (401, counted
    // against the sender), though it is malformed too, rather than answered on content no signature covers.
    if (err instanceof BulkFileError && whole && mismatched()) throw new UploadDigestMismatch();
    // A DciError is the request's own answer (a body that stopped arriving: 408), not a malformed file.
    throw err instanceof BulkFileError || err instanceof SpoolError || err instanceof UploadDigestMismatch ||
        err instanceof DciError
      ? err
      : new BulkFileError("err.request.bad", `the multipart body is malformed: ${(err as Error).message}`);
  } finally {
    clearTimeout(idle);
    clearTimeout(deadline);
  }
}

function parseParts(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  spool: SpoolWriter,
  maxItems: number,
): Promise<Omit<Upload, "spool">> {
  return multipartParser(contentType, { files: 1, fields: 8, parts: 9, fieldSize: 64 * 1024 }).then(
    (bb) => readParts(body, bb, spool, maxItems),
    (err) =>
      Promise.reject(
        new BulkFileError("err.request.bad", `not a multipart/form-data body: ${(err as Error).message}`),
      ),
  );
}

function readParts(
  body: ReadableStream<Uint8Array>,
  bb: MultipartParser,
  spool: SpoolWriter,
  maxItems: number,
): Promise<Omit<Upload, "spool">> {
  return new Promise((resolve, reject) => {
    const fields: UploadFields = {};
    let file: { name: string; format: BulkFormat; declared: boolean; done: Promise<number> } | undefined;
    let failed = false;
    const source = Readable.fromWeb(body as never);
    let failure: unknown;
    // A refused file is still read to its end (its bytes are counted and capped), so the client, still sending,
    // gets the answer instead of a reset connection; a broken stream ends the read at once.
    const fail = (err: unknown) => {
      failure ??= err;
      failed = true;
    };
    const abort = (err: unknown) => {
      fail(err);
      source.destroy();
      reject(failure);
    };
    bb.on("field", (name, value, info) => {
      if (name === "fileName") {
        // A part without a filename in its Content-Disposition is a text field to multipart readers (RFC 7578
        // lets a client leave the filename out: curl's `-F 'fileName=<file'`): not read as the file.
        return fail(
          new BulkFileError(
            "err.request.bad",
            'the part "fileName" must be sent as a file, with a filename in its Content-Disposition ' +
              "(curl: -F 'fileName=@lookups.csv')",
          ),
        );
      }
      if (!FIELDS.has(name)) return fail(new BulkFileError("err.request.bad", `unknown form part "${name}"`));
      if (info.valueTruncated) {
        return fail(new BulkFileError("err.request.bad", `form part "${name}" is too long`));
      }
      // The last one would win unseen: which header or format the sender meant is not ours to guess.
      if (fields[name as keyof UploadFields] !== undefined) {
        return fail(new BulkFileError("err.request.bad", `form part "${name}" is sent more than once`));
      }
      fields[name as keyof UploadFields] = value;
    });
    // busboy skips whatever is past its limits and says so only by these events: a second file would otherwise
    // be dropped unread and the first one ACKed as if it were the whole upload.
    bb.on(
      "filesLimit",
      () => fail(new BulkFileError("err.request.bad", "the upload has more than one file part")),
    );
    bb.on("fieldsLimit", () => fail(tooManyParts()));
    bb.on("partsLimit", () => fail(tooManyParts()));
    bb.on("file", (name, stream, info) => {
      // A body that ends inside the file ("Unexpected end of form") errors the part's stream as well as the
      // parser: without a listener that error was uncaught, and one truncated upload ended the whole process.
      stream.on("error", abort);
      if (name !== "fileName") {
        stream.resume();
        return fail(
          new BulkFileError("err.request.bad", `the file part must be named "fileName", not "${name}"`),
        );
      }
      const format = fields.fileFormat !== undefined
        ? declaredFormat(fields.fileFormat)
        : guessedFormat(info.filename, info.mimeType);
      if (!format) {
        stream.resume();
        return fail(badFormat());
      }
      const reader = lookupReader(format, spool, { maxItems });
      stream.on("data", (chunk: Uint8Array) => {
        if (failed) return;
        try {
          reader.write(chunk);
        } catch (err) {
          return fail(err);
        }
        // A spool write under way (PostgreSQL): the file waits for it, so no more than a chunk is buffered.
        if (spool.busy) {
          stream.pause();
          spool.flush().catch(fail).finally(() => stream.resume());
        }
      });
      const done = new Promise<number>((res, rej) => stream.on("end", () => reader.end().then(res, rej)));
      done.catch(fail);
      file = {
        // Shown in pages and logs, stored in text columns: control characters (a NUL, a forged line break) dropped.
        // deno-lint-ignore no-control-regex
        name: String(info.filename ?? "").replace(/[\u0000-\u001f\u007f]/g, "").slice(0, 200) || "upload",
        format,
        declared: fields.fileFormat !== undefined,
        done,
      };
    });
    bb.on("error", (err) => abort(err));
    source.on("error", abort);
    bb.on("close", async () => {
      if (failed) return reject(failure);
      if (!file) {
        return reject(new BulkFileError("err.request.bad", 'the upload has no file part "fileName"'));
      }
      try {
        const items = await file.done;
        // A fileFormat part after the file: the file was read as its name or type suggested, which must agree.
        if (!file.declared && fields.fileFormat !== undefined) {
          if (!declaredFormat(fields.fileFormat)) throw badFormat();
          if (declaredFormat(fields.fileFormat) !== file.format) {
            throw new BulkFileError("err.request.bad", "the fileFormat part must come before the file part");
          }
        }
        resolve({ fields, fileName: file.name, format: file.format, items });
      } catch (err) {
        reject(failure ?? err);
      }
    });
    source.pipe(bb as unknown as NodeJS.WritableStream);
  });
}

/** The format a fileFormat part names (any case, spaces around), undefined when it names none. */
function declaredFormat(declared: string): BulkFormat | undefined {
  const d = declared.trim().toLowerCase();
  return (BULK_FORMATS as readonly string[]).includes(d) ? d as BulkFormat : undefined;
}

/** The format of a file sent without a fileFormat part before it: its name's extension or type; json by default. */
function guessedFormat(filename?: string, mime?: string): BulkFormat {
  if (/\.csv$/i.test(filename ?? "") || /csv/i.test(mime ?? "")) return "csv";
  return "json";
}

function tooManyParts(): BulkFileError {
  return new BulkFileError(
    "err.request.bad",
    `the upload has too many parts (it takes ${[...FIELDS].join(", ")} and one file "fileName")`,
  );
}

function badFormat(): BulkFileError {
  return new BulkFileError("err.request.bad", `fileFormat must be one of ${BULK_FORMATS.join(", ")}`);
}

/** The first sha-256 or sha-512 member of a Content-Digest value. */
function expectedDigest(header: string): { alg: "sha256" | "sha512"; bytes: Uint8Array } | undefined {
  for (const part of header.split(",")) {
    const m = /^\s*(sha-256|sha-512)=:([A-Za-z0-9+/]*={0,2}):\s*$/.exec(part);
    if (m) {
      return {
        alg: m[1] === "sha-256" ? "sha256" : "sha512",
        bytes: new Uint8Array(Buffer.from(m[2], "base64")),
      };
    }
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
