/**
 * Spooling an uploaded import file to disk as it arrives (never whole in memory): `<data dir>/imports/`, or the
 * system temp dir for an in-memory database. Names are random, never taken from the upload.
 */
import type { Config } from "../../config.ts";
import { detectFormat, type ImportFormat } from "../sources.ts";

/** The directory spool files go to. */
export function spoolDir(config: Config): string {
  if (config.dataDir !== ":memory:") return `${config.dataDir.replace(/\/+$/, "")}/imports`;
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return `${tmp.replace(/\/+$/, "")}/dci-imports`;
}

/** The path of a spool file by its (random) name. */
export function spoolPath(config: Config, name: string): string {
  return `${spoolDir(config)}/${name}`;
}

/** A file written to the spool: its name, size and the first non-blank character (for format detection). */
export interface Spooled {
  name: string;
  bytes: number;
  firstChar: string | undefined;
}

/**
 * Writes `body` to a new spool file. A stream that fails (over the size limit, the client gone) removes the
 * partial file and rethrows the stream's error.
 */
export async function spoolUpload(config: Config, body: ReadableStream<Uint8Array>): Promise<Spooled> {
  const dir = spoolDir(config);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const name = `import-${crypto.randomUUID()}.upload`;
  const path = `${dir}/${name}`;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let bytes = 0;
  let head = "";
  const decoder = new TextDecoder();
  try {
    await body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          bytes += chunk.byteLength;
          if (head.length < 64) head += decoder.decode(chunk.subarray(0, 64), { stream: true });
          ctl.enqueue(chunk);
        },
      }),
    ).pipeTo(file.writable);
  } catch (err) {
    await Deno.remove(path).catch(() => {});
    throw err;
  }
  const firstChar = head.replace(/^\uFEFF/, "").trimStart()[0];
  return { name, bytes, firstChar };
}

/** Removes a spool file (already gone is fine). */
export async function removeSpool(config: Config, name: string): Promise<void> {
  await Deno.remove(spoolPath(config, name)).catch(() => {});
}

/**
 * Removes spool files no job refers to (an upload cut off by a crash before its job row was written). Only for
 * a data dir on disk, and only when nothing can be uploading: the worker's start, before HTTP is served.
 */
export function pruneSpool(config: Config, keep: ReadonlySet<string>): number {
  if (config.dataDir === ":memory:") return 0;
  let removed = 0;
  try {
    // Synchronous: it runs once at start, over a directory that holds only unfinished uploads.
    for (const e of Deno.readDirSync(spoolDir(config))) {
      if (!e.isFile || !e.name.endsWith(".upload") || keep.has(e.name)) continue;
      Deno.removeSync(spoolPath(config, e.name));
      removed++;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return removed;
}

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
