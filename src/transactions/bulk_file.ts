/**
 * The lookups file of a bulk search, read as it streams in: a JSON array or a CSV table of idtype-value lookups,
 * each written at once as one normalised line of a spool (`["ref","type","value"]`, spool_store.ts), so the
 * server never holds the file, only the element being parsed and the spool's write buffer. A malformed file, an
 * element too large or one lookup too many stops the read with a BulkFileError naming the problem and where it
 * is. The reference_ids met so far are kept as 64-bit hashes (8 bytes each, KeyHashSet): a lookup whose
 * reference_id repeats one before it is spooled marked, and answered rjct.reference_id.duplicate as an inline
 * search item would be (two different reference_ids of one hash, about n² / 2⁶⁵ for n lookups: one file of 1M in
 * ~37 million, would have the later one refused so too).
 */
import { JSONParser } from "@streamparser/json";
import { parse as csvParser } from "csv-parse";
import { isHeaderSafeId } from "../dci/limits.ts";
import { SpoolError, type SpoolReader, type SpoolWriter } from "./spool_store.ts";
import { KeyHashSet } from "../registry/key_set.ts";
import { idTypeValueParts, queryTypeName } from "../registry/query_parse.ts";

/** One idtype-value lookup of a bulk file; `duplicate` when its reference_id repeats an earlier one of the file. */
export interface Lookup {
  ref: string;
  type: string;
  value: string;
  duplicate?: true;
}

/**
 * Why a bulk file was refused: `code` is the DCI code answered (err.request.bad or the total_count limit), `status`
 * the HTTP status: 413 only for an upload over DCI_BULK_MAX_FILE_BYTES, 400 for anything wrong inside the file (an
 * element or row too large included).
 */
export class BulkFileError extends Error {
  readonly status: 400 | 413;
  constructor(
    readonly code: "err.request.bad" | "rjct.total_count.limit_exceeded",
    message: string,
    options: { status?: 413 } = {},
  ) {
    super(message);
    this.status = options.status ?? 400;
  }
}

/** The formats the FileInfo `fileFormat` part may name. */
export const BULK_FORMATS = ["json", "csv"] as const;

/** A bulk file format. */
export type BulkFormat = typeof BULK_FORMATS[number];

/** The largest single JSON element or CSV row in bytes: a lookup is a type and a value of at most 128 chars. */
const MAX_ELEMENT = 4096;
/**
 * The largest element of a JSON file in bytes, as it stands in the file (a spec search item, pretty-printed
 * with its consent and authorisation blocks, is ~2 KB), and the deepest nesting: both are checked on the raw
 * bytes before the parser sees them, which builds each element whole and bounds neither.
 */
const MAX_JSON_ELEMENT_BYTES = 64 * 1024;
/** The longest line of a CSV file in bytes, as it stands in the file: a row's fields, quoted, with delimiters. */
const MAX_CSV_LINE_BYTES = 4 * MAX_ELEMENT;
const MAX_JSON_DEPTH = 16;
const TYPE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A parser fed chunk by chunk; `end()` finishes it and returns the number of lookups written. */
export interface LookupReader {
  write(chunk: Uint8Array): void;
  end(): Promise<number>;
}

/**
 * A reader of `format` that writes each lookup to `out` (a spool being written) as it is parsed; more than
 * `maxItems` lookups is refused. Lookups without a reference_id get their 1-based position as one.
 */
export function lookupReader(
  format: BulkFormat,
  out: Pick<SpoolWriter, "line">,
  options: { maxItems: number },
): LookupReader {
  let count = 0;
  const refs = new KeyHashSet();
  const add = (raw: Partial<Record<"ref" | "type" | "value", unknown>>, where: string) => {
    if (++count > options.maxItems) {
      throw new BulkFileError(
        "rjct.total_count.limit_exceeded",
        `the file has more than ${options.maxItems} lookups (DCI_BULK_MAX_ITEMS)`,
      );
    }
    const lookup = normalise(raw, String(count), where);
    const line = [lookup.ref, lookup.type, lookup.value];
    // A fourth element marks a repeated reference_id (spools written before it have none).
    out.line(asciiJson(refs.add(lookup.ref, "") ? line : [...line, 1]));
  };
  const inner = format === "json" ? jsonReader(add) : csvReader(add);
  const utf8 = utf8Check();
  return {
    write(chunk) {
      utf8.write(chunk);
      inner.write(chunk);
    },
    async end() {
      utf8.end();
      await inner.end();
      if (count === 0) throw new BulkFileError("err.request.bad", "the file has no lookups");
      return count;
    },
  };
}

type Add = (raw: Partial<Record<"ref" | "type" | "value", unknown>>, where: string) => void;

/**
 * A check that the file's bytes, chunk by chunk, are UTF-8, before either parser sees them: csv-parse would put
 * U+FFFD in place of a bad byte (a Latin-1 file's values would then silently find nobody), the JSON parser stop
 * with a tokenizer error that names no encoding. A fatal decoder costs ~1 % of the parse (10 ms for 20 MB); the
 * position is looked for only once it failed.
 */
function utf8Check(): { write(chunk: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let offset = 0; // bytes of the file before the current chunk
  let tail = new Uint8Array(0); // the file's last 3 bytes before the current chunk (a sequence they may cut)
  // Counted from 1, as cmp(1) counts, like the rows and elements of the other messages.
  const refuse = (at: number) =>
    new BulkFileError("err.request.bad", `the file is not UTF-8 (at byte ${at + 1})`);
  return {
    write(chunk) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        const start = cutSequenceStart(tail);
        const bytes = new Uint8Array(tail.length - start + chunk.length);
        bytes.set(tail.subarray(start));
        bytes.set(chunk, tail.length - start);
        throw refuse(offset - (tail.length - start) + firstInvalidUtf8(bytes));
      }
      offset += chunk.length;
      if (chunk.length >= 3) tail = chunk.slice(chunk.length - 3);
      else tail = new Uint8Array([...tail, ...chunk].slice(-3));
    },
    end() {
      try {
        decoder.decode();
      } catch {
        throw refuse(offset - (tail.length - cutSequenceStart(tail)));
      }
    },
  };
}

/** Where, in the last bytes of a valid chunk, a multi-byte sequence the chunk's end cut begins (else their length). */
function cutSequenceStart(tail: Uint8Array): number {
  for (let i = tail.length - 1; i >= 0; i--) {
    if ((tail[i] & 0xc0) !== 0x80) return tail[i] >= 0xc0 ? i : tail.length;
  }
  return tail.length;
}

/** The index of the first byte of `bytes` that does not begin or continue a valid UTF-8 sequence (its length if none). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    // Continuation bytes to follow, and the range of the first (RFC 3629: no overlong form, surrogate, > U+10FFFF).
    const n = b < 0x80 ? 0 : b < 0xc2 ? -1 : b < 0xe0 ? 1 : b < 0xf0 ? 2 : b < 0xf5 ? 3 : -1;
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i; // cut at the end: the decoder's end() names it
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return bytes.length;
}

/** A JSON array of `{type, value, reference_id?}` or of spec search items (idtype-value search_criteria). */
function jsonReader(add: Add): { write(c: Uint8Array): void; end(): Promise<void> } {
  const parser = new JSONParser({ paths: ["$.*"], keepStack: false, stringBufferSize: MAX_ELEMENT });
  let index = 0;
  let failure: unknown;
  parser.onValue = ({ value, key, parent }) => {
    if (!Array.isArray(parent) || typeof key !== "number") {
      throw new BulkFileError("err.request.bad", "a JSON bulk file must be an array of lookups");
    }
    index++;
    add(jsonLookup(value), `element ${index}`);
  };
  parser.onError = (err) => failure ??= err;
  const bounds = jsonBounds();
  return {
    write(chunk) {
      bounds.scan(chunk);
      try {
        parser.write(chunk);
      } catch (err) {
        throw asFileError(err, "JSON");
      }
      if (failure) throw asFileError(failure, "JSON");
    },
    end() {
      try {
        if (!parser.isEnded) parser.end();
      } catch (err) {
        throw asFileError(err, "JSON");
      }
      if (failure) throw asFileError(failure, "JSON");
      if (!bounds.started) throw new BulkFileError("err.request.bad", "the file has no lookups");
      return Promise.resolve();
    },
  };
}

/**
 * A scan of a JSON text's raw bytes, chunk by chunk, that refuses a text that is not one array (anything but
 * whitespace before its `[`, a byte-order mark excepted, or after its `]`), an element of the array larger than
 * MAX_JSON_ELEMENT_BYTES (counted from the comma or bracket before it) or any nesting deeper than MAX_JSON_DEPTH.
 * Outside the array the parser would build a value of any size (a string of the file's length) before anything
 * else could count it. It follows strings and their escapes only: whatever else is malformed is the parser's to
 * find. `started`: the array's `[` was met.
 */
function jsonBounds(): { scan(chunk: Uint8Array): void; readonly started: boolean } {
  let depth = 0, inString = false, escaped = false, size = 0, element = 1;
  let offset = 0; // bytes scanned before the current chunk
  let place: "before" | "inside" | "after" = "before";
  const tooLarge = () =>
    new BulkFileError(
      "err.request.bad",
      `element ${element} of the JSON file is larger than ${MAX_JSON_ELEMENT_BYTES} bytes`,
    );
  return {
    get started() {
      return place !== "before";
    },
    scan(chunk) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (depth === 0) {
          if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
          const at = offset + i;
          if (place === "before" && at < 3 && b === UTF8_BOM[at]) continue;
          if (place === "before" && b === 0x5b) { // [
            place = "inside";
            depth = 1;
            size = 0;
            continue;
          }
          throw new BulkFileError(
            "err.request.bad",
            place === "before"
              ? "a JSON bulk file must be an array of lookups"
              : "a JSON bulk file must be one array of lookups, with nothing after it",
          );
        }
        if (++size > MAX_JSON_ELEMENT_BYTES) throw tooLarge();
        if (inString) {
          if (escaped) escaped = false;
          else if (b === 0x5c) escaped = true; // backslash
          else if (b === 0x22) inString = false;
        } else if (b === 0x22) inString = true;
        else if (b === 0x5b || b === 0x7b) { // [ {
          if (++depth > MAX_JSON_DEPTH) {
            throw new BulkFileError(
              "err.request.bad",
              `element ${element} of the JSON file is nested deeper than ${MAX_JSON_DEPTH} levels`,
            );
          }
        } else if (b === 0x5d || b === 0x7d) { // ] }
          if (--depth === 0) place = "after";
        } else if (b === 0x2c && depth === 1) { // a comma between elements
          size = 0;
          element++;
        }
      }
      offset += chunk.length;
    },
  };
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * A scan of a CSV text's raw bytes that refuses a line longer than MAX_CSV_LINE_BYTES as it stands in the file
 * (delimiters, quotes and a quoted field's line breaks included). csv-parse's `max_record_size` counts only the
 * fields' characters: a line of commas alone grew its record by an empty field per byte, without limit.
 */
function csvBounds(): (chunk: Uint8Array) => void {
  let quoted = false, size = 0, line = 1;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0x22) quoted = !quoted; // a doubled quote inside a quoted field toggles twice
      else if ((b === 0x0a || b === 0x0d) && !quoted) {
        if (b === 0x0a) line++;
        size = 0;
        continue;
      }
      if (++size > MAX_CSV_LINE_BYTES) {
        throw new BulkFileError(
          "err.request.bad",
          `line ${line} of the CSV file is longer than ${MAX_CSV_LINE_BYTES} bytes${
            quoted ? " (inside a quoted field: a quote left open?)" : ""
          }`,
        );
      }
    }
  };
}

/**
 * A JSON element's lookup: `{type, value, reference_id?}`, or a spec search item whose criteria are an idtype-value
 * query read as an inline search reads one (its query_type in any case or URN form, OpenG2P's `{id_type, id_value}`
 * alone or as the query's value).
 */
function jsonLookup(value: unknown): Partial<Record<"ref" | "type" | "value", unknown>> {
  const o = isObj(value) ? value : {};
  const criteria = isObj(o.search_criteria) ? o.search_criteria : undefined;
  const query = criteria ? (isObj(criteria.query) ? criteria.query : {}) : o;
  if (criteria && criteria.query_type != null && queryTypeName(criteria.query_type) !== "idtype-value") {
    return { ref: o.reference_id, type: undefined, value: undefined };
  }
  if (criteria) {
    const { type, value } = idTypeValueParts(query);
    return { ref: o.reference_id, type, value };
  }
  return { ref: o.reference_id, type: query.type, value: query.value };
}

/** A CSV table whose header row names `type` and `value` columns (and optionally `reference_id`). */
function csvReader(add: Add): { write(c: Uint8Array): void; end(): Promise<void> } {
  let failure: unknown;
  let columns: { type: number; value: number; ref: number } | undefined;
  let row = 0;
  // A row of empty fields (`,,`: a blank row of a spreadsheet's export) is skipped as an empty line is.
  const parser = csvParser({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    max_record_size: MAX_ELEMENT,
  });
  parser.on("data", (record: string[]) => {
    if (failure) return;
    try {
      row++;
      if (!columns) {
        const names = record.map((n) => n.toLowerCase());
        columns = {
          type: names.indexOf("type"),
          value: names.indexOf("value"),
          ref: names.indexOf("reference_id"),
        };
        if (columns.type < 0 || columns.value < 0) {
          throw new BulkFileError(
            "err.request.bad",
            "the CSV header row must name the columns type and value (and optionally reference_id)",
          );
        }
        const twice = ["type", "value", "reference_id"].find((n) =>
          names.indexOf(n) !== names.lastIndexOf(n)
        );
        if (twice) {
          throw new BulkFileError("err.request.bad", `the CSV header row names the column ${twice} twice`);
        }
        return;
      }
      add({
        ref: columns.ref >= 0 && record[columns.ref] !== "" ? record[columns.ref] : undefined,
        type: record[columns.type],
        value: record[columns.value],
      }, `row ${row}`);
    } catch (err) {
      failure = err;
    }
  });
  parser.on("error", (err) => failure ??= err);
  const done = new Promise<void>((resolve) => {
    parser.on("end", resolve);
    parser.on("error", () => resolve());
  });
  const bounds = csvBounds();
  return {
    write(chunk) {
      if (failure) throw asFileError(failure, "CSV");
      bounds(chunk);
      parser.write(chunk);
      if (failure) throw asFileError(failure, "CSV");
    },
    async end() {
      parser.end();
      await done;
      if (failure) throw asFileError(failure, "CSV");
      if (!columns) throw new BulkFileError("err.request.bad", "the file has no lookups");
    },
  };
}

/**
 * A JSON number given for a reference_id or value, as text: only a safe integer, which the parser read exactly;
 * `12345678901234567890` would have become 12345678901234567000 and found the wrong record, so it is refused.
 */
function exactNumber(v: unknown, where: string): string | undefined {
  if (typeof v !== "number") return undefined;
  if (!Number.isSafeInteger(v)) {
    throw new BulkFileError(
      "err.request.bad",
      `${where}: a number is taken only as a whole number below 2^53; send ${v} as a string`,
    );
  }
  return String(v);
}

function normalise(
  raw: Partial<Record<"ref" | "type" | "value", unknown>>,
  position: string,
  where: string,
): Lookup {
  // No reference_id (absent, null or "", as the spec's samples send it) is the lookup's position.
  const ref = raw.ref === undefined || raw.ref === null || raw.ref === ""
    ? position
    : exactNumber(raw.ref, where) ?? raw.ref;
  if (!isHeaderSafeId(ref)) {
    throw new BulkFileError("err.request.bad", `${where}: reference_id must be 1 to 99 printable characters`);
  }
  const type = typeof raw.type === "string" ? raw.type.trim() : "";
  if (!TYPE.test(type)) {
    throw new BulkFileError(
      "err.request.bad",
      `${where}: an idtype-value lookup needs a type (a code or URN)`,
    );
  }
  const value = exactNumber(raw.value, where) ?? (typeof raw.value === "string" ? raw.value.trim() : "");
  if (value === "" || value.length > 128) {
    throw new BulkFileError(
      "err.request.bad",
      `${where}: an idtype-value lookup needs a value of 1 to 128 characters`,
    );
  }
  return { ref, type, value };
}

/** A parse failure as a BulkFileError; a spool that could not be written stays what it is (not the file's fault). */
function asFileError(err: unknown, what: string): BulkFileError | SpoolError {
  if (err instanceof BulkFileError || err instanceof SpoolError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BulkFileError("err.request.bad", `the ${what} file is malformed: ${message.slice(0, 200)}`);
}

/** JSON with every non-ASCII character escaped: spool offsets are then character counts. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads up to `count` lookups of `spool` from character `offset`; returns them and the offset after the last one. */
export async function readSpoolPage(
  spool: SpoolReader,
  offset: number,
  count: number,
): Promise<{ lookups: Lookup[]; next: number }> {
  const { lines, next } = await spool.read(offset, count);
  const lookups = lines.map((line): Lookup => {
    const [ref, type, value, repeated] = JSON.parse(line) as [string, string, string, 1?];
    return repeated ? { ref, type, value, duplicate: true } : { ref, type, value };
  });
  return { lookups, next };
}
