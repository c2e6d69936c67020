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

/** A JSON array `[{…}, {…}]`, split into elements by tracking depth and strings, then parsed one by one. */
export async function* jsonArrayRecords(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let line = 1;
  let state: "before" | "between" | "in" | "done" = "before";
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
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === "\\") escaped = true;
          else if (ch === '"') inString = false;
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === "{" || ch === "[") depth++;
        else if (ch === "}" || ch === "]") {
          depth--;
          if (depth === 0) {
            current += chunk.slice(segStart, i + 1);
            segStart = -1;
            state = "between";
            yield parseElement(current, startLine);
            current = "";
          }
        }
        continue;
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
        if (ch !== "{") throw new Error(`line ${line}: expected an object in the array, found "${ch}"`);
        state = "in";
        depth = 1;
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
}

function parseElement(text: string, line: number): SourceRecord {
  try {
    return { line, raw: JSON.parse(text) };
  } catch (e) {
    return { line, error: `invalid JSON: ${(e as Error).message}` };
  }
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
