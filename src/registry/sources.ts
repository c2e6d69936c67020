/**
 * Streaming readers for import files: NDJSON (one record per line), a JSON array of records, and CSV
 * (see `csv.ts` for the column mapping). Each yields records with the line they start on; nothing holds
 * more than one record (plus one read chunk) in memory.
 */
import type { SourceRecord } from "./batch.ts";
import { csvRecords } from "./csv.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/** Import file formats. */
export type ImportFormat = "ndjson" | "json" | "csv";

/** The format from an explicit choice, else the file extension, else the first non-blank character. */
export function detectFormat(path: string, firstChar: string | undefined, explicit?: string): ImportFormat {
  const want = explicit?.toLowerCase();
  if (want === "ndjson" || want === "jsonl") return "ndjson";
  if (want === "json" || want === "csv") return want;
  if (want) throw new Error(`unknown format "${explicit}" (ndjson, json or csv)`);
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".ndjson") || lower.endsWith(".jsonl")) return "ndjson";
  return firstChar === "[" ? "json" : "ndjson";
}

/** The largest record (an NDJSON line, a JSON array element) read, in characters. */
const MAX_RECORD_CHARS = 1_000_000;

/** Lines of a text stream with their 1-based numbers; a line longer than `max` characters stops the stream. */
export async function* lines(
  chunks: AsyncIterable<string>,
  max = MAX_RECORD_CHARS,
): AsyncGenerator<{ line: number; text: string }> {
  let buf = "";
  let n = 0;
  for await (const chunk of chunks) {
    buf += chunk;
    let start = 0;
    let i: number;
    while ((i = buf.indexOf("\n", start)) >= 0) {
      if (i - start > max) throw new Error(`line ${n + 1}: a record is larger than 1 MB`);
      n++;
      yield { line: n, text: buf.slice(start, i).replace(/\r$/, "") };
      start = i + 1;
    }
    buf = buf.slice(start);
    if (buf.length > max) throw new Error(`line ${n + 1}: a record is larger than 1 MB`);
  }
  if (buf.length > 0) yield { line: n + 1, text: buf.replace(/\r$/, "") };
}

/**
 * Decodes an import file's bytes as UTF-8, fatally: bytes that are not UTF-8 (a Latin-1 or Windows-1252 export) fail
 * the stream naming the line and the byte offset where they start, instead of turning into U+FFFD. A leading BOM is
 * dropped, as `TextDecoderStream` drops it.
 */
export function utf8Text(): TransformStream<Uint8Array, string> {
  const utf8 = utf8Decoder();
  return new TransformStream<Uint8Array, string>({
    transform(chunk, c) {
      const text = utf8.decode(chunk);
      if (text.length > 0) c.enqueue(text);
    },
    flush: () => utf8.end(),
  });
}

/**
 * The fatal UTF-8 decoding of `utf8Text`, one chunk of a file at a time, in order: `decode` gives a chunk's text
 * (a character cut between chunks comes with the next) and `end` checks the file ended on a whole character; each
 * throws the error naming the line and byte offset of the first sequence that is not UTF-8.
 */
export function utf8Decoder(): { decode(chunk: Uint8Array): string; end(): void } {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  /** Bytes of a character the last chunk ended inside, and the file offset and line of the next byte. */
  let carry = new Uint8Array(0);
  let offset = 0;
  let line = 1;
  return {
    decode(chunk) {
      const buf = carry.length === 0 ? chunk : concat(carry, chunk);
      const cut = buf.length - incompleteTail(buf);
      const whole = buf.subarray(0, cut);
      let text: string;
      try {
        text = decoder.decode(whole, { stream: true });
      } catch {
        throw notUtf8(whole, offset, line);
      }
      carry = buf.slice(cut);
      offset += cut;
      for (let i = whole.indexOf(10); i >= 0; i = whole.indexOf(10, i + 1)) line++;
      return text;
    },
    end() {
      if (carry.length > 0) throw notUtf8(carry, offset, line);
    },
  };
}

/** How many bytes at the end of `b` begin a UTF-8 character they do not finish (0 to 3). */
function incompleteTail(b: Uint8Array): number {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const x = b[b.length - k];
    if ((x & 0xc0) === 0x80) continue;
    const need = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : x >= 0xc0 ? 2 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The error for `bytes` (starting at file offset `offset`, on line `line`), which hold a sequence that is not UTF-8. */
function notUtf8(bytes: Uint8Array, offset: number, line: number): Error {
  // Whether the first n bytes hold nothing but UTF-8 (`stream`: a character they end inside still counts).
  const utf8 = (n: number, stream: boolean) => {
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, n), { stream });
      return true;
    } catch {
      return false;
    }
  };
  // Found on this error path only: the longest prefix that is UTF-8 but for a character it ends inside (a property
  // every shorter prefix keeps), then the start of that character, where the bad sequence begins.
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (utf8(mid, true)) lo = mid;
    else hi = mid - 1;
  }
  while (lo > 0 && !utf8(lo, false)) lo--;
  for (let i = bytes.indexOf(10); i >= 0 && i < lo; i = bytes.indexOf(10, i + 1)) line++;
  const hex = bytes[lo].toString(16).toUpperCase().padStart(2, "0");
  return new Error(
    `line ${line}: the file is not UTF-8 text: byte 0x${hex} at byte offset ${offset + lo} ` +
      "(save it as UTF-8 and import it again)",
  );
}

/** NDJSON: one JSON object per non-blank line. */
export async function* ndjsonRecords(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  for await (const { line, text } of lines(chunks)) {
    const t = text.trim();
    if (t === "") continue;
    try {
      yield { line, raw: JSON.parse(t) };
    } catch (e) {
      yield { line, error: `invalid JSON: ${(e as Error).message}` };
    }
  }
}

/**
 * A JSON array `[{…}, {…}]`, split into elements by tracking depth and strings, then parsed one by one. An element
 * that is not an object (`null`, `3`, `"x"`, `[…]`) is a rejected row, as such an NDJSON line is.
 */
export async function* jsonArrayRecords(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let line = 1;
  let state: "before" | "between" | "in" | "done" = "before";
  /** Open brackets of the element; 0 in a scalar element (a string, number or literal). */
  let depth = 0;
  let inString = false;
  let escaped = false;
  let current = "";
  let startLine = 1;
  for await (const chunk of chunks) {
    let segStart = state === "in" ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (ch === "\n") line++;
      if (state === "in") {
        /** Where the element ends in this chunk (exclusive), once it does. */
        let end = -1;
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === "\\") escaped = true;
          else if (ch === '"') {
            inString = false;
            if (depth === 0) end = i + 1;
          }
        } else if (depth === 0) {
          // A number or literal ends before the separator after it, which is then read as any other.
          if (ch === "," || ch === "]" || ch === " " || ch === "\n" || ch === "\r" || ch === "\t") end = i;
        } else if (ch === '"') inString = true;
        else if (ch === "{" || ch === "[") depth++;
        else if (ch === "}" || ch === "]") {
          depth--;
          if (depth === 0) end = i + 1;
        }
        if (end < 0) continue;
        current += chunk.slice(segStart, end);
        segStart = -1;
        state = "between";
        yield parseElement(current, startLine);
        current = "";
        if (end > i) continue;
      }
      if (ch === " " || ch === "\n" || ch === "\r" || ch === "\t") continue;
      if (state === "before") {
        if (ch !== "[") throw new Error(`line ${line}: a JSON array must start with "["`);
        state = "between";
      } else if (state === "between") {
        if (ch === ",") continue;
        if (ch === "]") {
          state = "done";
          continue;
        }
        state = "in";
        depth = ch === "{" || ch === "[" ? 1 : 0;
        inString = ch === '"';
        escaped = false;
        startLine = line;
        segStart = i;
      } else if (state === "done") {
        throw new Error(`line ${line}: unexpected content after the closing "]"`);
      }
    }
    if (state === "in" && segStart >= 0) current += chunk.slice(segStart);
    if (current.length > MAX_RECORD_CHARS) throw new Error(`line ${startLine}: a record is larger than 1 MB`);
  }
  if (state === "in") throw new Error(`line ${startLine}: the file ends inside a record`);
  if (state === "before") throw new Error("the file is empty");
  // A file cut after a whole record (a partial copy, a failed download) is no whole array: the records after the
  // cut would be missing without a word (a locations import replaces the hierarchy whole).
  if (state === "between") throw new Error(`line ${line}: the file ends before the array's closing "]"`);
}

function parseElement(text: string, line: number): SourceRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { line, error: `invalid JSON: ${(e as Error).message}` };
  }
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) return { line, raw };
  const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return { line, error: `record must be a JSON object, found ${shown}` };
}

/** The records of an import stream in the given format (CSV: through `profile`'s columns, social's by default). */
export function recordsOf(
  format: ImportFormat,
  chunks: AsyncIterable<string>,
  profile?: RegistryProfile,
): AsyncGenerator<SourceRecord> {
  if (format === "ndjson") return ndjsonRecords(chunks);
  if (format === "json") return jsonArrayRecords(chunks);
  return csvRecords(chunks, profile);
}
