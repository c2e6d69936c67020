/**
 * Import uploads as they are spooled (never whole in memory; the stores are spool_store.ts and pg_spool_store.ts):
 * the embedded server's spool directory, `<data dir>/imports/` or the system temp dir for an in-memory database;
 * the upload's size and first character; its format. Names are random, never taken from the upload.
 */
import type { Config } from "../../config.ts";
import { detectFormat, type ImportFormat, utf8Decoder } from "../sources.ts";

/** The directory spool files go to. */
export function spoolDir(config: Pick<Config, "dataDir">): string {
  if (config.dataDir !== ":memory:") return `${config.dataDir.replace(/\/+$/, "")}/imports`;
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return `${tmp.replace(/\/+$/, "")}/dci-imports`;
}

/** The path of a spool file by its (random) name. */
export function spoolPath(config: Pick<Config, "dataDir">, name: string): string {
  return `${spoolDir(config)}/${name}`;
}

/** A file written to the spool: its name, size and the first non-blank character (for format detection). */
export interface Spooled {
  name: string;
  bytes: number;
  firstChar: string | undefined;
  /** Why the file is not UTF-8 (the line and byte offset of the first sequence that is not), if it is not. */
  notUtf8?: string;
}

/**
 * Counts the bytes of an upload passing through and keeps its first characters; `spooled(name)` is then what the
 * spool holds (whichever store wrote it).
 */
export function uploadMeter(): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  spooled(name: string): Spooled;
} {
  let bytes = 0;
  let head = "";
  const decoder = new TextDecoder();
  // The whole file is checked as it is spooled, so a job never starts on one that is not UTF-8 past its start
  // (its earlier batches would be written before the reader met the bad byte).
  const utf8 = utf8Decoder();
  let notUtf8: string | undefined;
  const check = (step: () => unknown) => {
    if (notUtf8 !== undefined) return;
    try {
      step();
    } catch (err) {
      notUtf8 = (err as Error).message;
    }
  };
  return {
    stream: new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        bytes += chunk.byteLength;
        if (head.length < 64) head += decoder.decode(chunk.subarray(0, 64), { stream: true });
        check(() => utf8.decode(chunk));
        ctl.enqueue(chunk);
      },
      flush: () => check(() => utf8.end()),
    }),
    spooled: (name) => ({ name, bytes, firstChar: head.replace(/^\uFEFF/, "").trimStart()[0], notUtf8 }),
  };
}

/** A new spool name: random, never taken from the upload. */
export const newSpoolName = (): string => `import-${crypto.randomUUID()}.upload`;

/** The MIME types that name an import format. */
const TYPES: Record<string, ImportFormat> = {
  "text/csv": "csv",
  "application/csv": "csv",
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "application/jsonl": "ndjson",
  "application/json": "json",
};

/**
 * The format of an upload: explicit (`format`), else its MIME type, else the file name's extension, else the
 * first non-blank character ("[" a JSON array, else NDJSON). Throws on an unknown explicit format.
 */
export function uploadFormat(
  spooled: Spooled,
  hints: { format?: string; contentType?: string; fileName?: string },
): ImportFormat {
  if (hints.format) return detectFormat("", undefined, hints.format);
  const type = (hints.contentType ?? "").split(";")[0].trim().toLowerCase();
  if (TYPES[type] && !(type === "application/json" && spooled.firstChar !== "[")) return TYPES[type];
  return detectFormat(hints.fileName ?? "", spooled.firstChar);
}
