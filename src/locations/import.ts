/**
 * Reading a place hierarchy file for `registry import-locations`: CSV (header row, columns below), a JSON array
 * or NDJSON of rows, or a whole `LocationHierarchy` document (another server's locations.json). Streams the
 * file through the registry import's readers; every row is checked, then the hierarchy across rows.
 *
 * CSV columns (header names, case-insensitive; an unknown column refuses the file):
 *   code          the place code (letters, digits, . _ : -; at most 64)
 *   name          its name (what records' `locality` holds for a locality)
 *   level         country, region, sub_region or locality
 *   parent_code   the code of the place containing it (or `parent`); empty for a root
 *   id.<NAME>     another identifier of the place, e.g. id.ISO3166-2, id.PCODE
 */
import type { ImportReport, SourceRecord } from "../registry/batch.ts";
import { emptyReport, MAX_REJECTIONS_KEPT } from "../registry/batch.ts";
import { csvRows } from "../registry/csv.ts";
import { jsonArrayRecords, ndjsonRecords } from "../registry/sources.ts";
import type { ImportFormat } from "../registry/sources.ts";
import { checkHierarchy, type LinedPlace, MAX_PLACES, readPlace } from "./model.ts";

/** The largest whole-document (`{"locations": [...]}`) file read, in bytes. */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

const CSV_PLAIN = new Set(["code", "name", "level", "parent_code", "parent"]);

/** The CSV header checked and normalised; throws naming an unknown column. */
export function checkLocationHeader(header: string[]): string[] {
  const cols = header.map((h) => h.trim().replace(/^\uFEFF/, ""));
  for (const c of cols) {
    if (CSV_PLAIN.has(c.toLowerCase()) || /^id\.[A-Za-z0-9._:-]{1,64}$/i.test(c)) continue;
    throw new Error(
      `CSV column "${c.slice(0, 64)}" is not a locations column: use code, name, level, parent_code ` +
        `(or parent) and id.<NAME>`,
    );
  }
  return cols;
}

/** One CSV row (after the header) to a plain input row. Empty cells are absent values. */
export function csvRowToPlace(cols: string[], cells: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const identifiers: Array<{ name: string; identifier: string }> = [];
  cols.forEach((col, i) => {
    const v = (cells[i] ?? "").trim();
    if (v === "") return;
    const l = col.toLowerCase();
    if (l.startsWith("id.")) identifiers.push({ name: col.slice(3), identifier: v });
    else out[l === "parent" ? "parent_code" : l] = v;
  });
  if (identifiers.length) out.identifiers = identifiers;
  return out;
}

async function* csvPlaceRows(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let cols: string[] | undefined;
  for await (const { line, cells, error } of csvRows(chunks)) {
    if (!cols) {
      if (error) throw new Error(`the header row: ${error}`);
      cols = checkLocationHeader(cells);
      continue;
    }
    if (error) yield { line, error };
    else if (cells.length !== cols.length) {
      yield { line, error: `expected ${cols.length} cells, found ${cells.length}` };
    } else yield { line, raw: csvRowToPlace(cols, cells) };
  }
}

/**
 * NDJSON, unless the whole text is one object with a `locations` array (a LocationHierarchy): then its places,
 * each numbered by its position in the array.
 */
async function* objectRows(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let text = "";
  for await (const c of chunks) {
    text += c;
    if (text.length > MAX_DOCUMENT_BYTES) throw new Error("a JSON document larger than 64 MiB");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined; // not one document: NDJSON
  }
  const locations = (doc as { locations?: unknown } | undefined)?.locations;
  if (doc !== null && typeof doc === "object" && Array.isArray(locations)) {
    yield* locations.map((raw, i) => ({ line: i + 1, raw }));
    return;
  }
  yield* ndjsonRecords((async function* () {
    yield text;
  })());
}

/** The rows of `chunks` in `format`; `firstChar` (the first non-blank character) tells a document from NDJSON. */
export function placeRows(
  format: ImportFormat,
  firstChar: string | undefined,
  chunks: AsyncIterable<string>,
): AsyncGenerator<SourceRecord> {
  if (format === "csv") return csvPlaceRows(chunks);
  if (firstChar === "[") return jsonArrayRecords(chunks);
  return objectRows(chunks);
}

/** What reading a file gave: the places that pass every check, and the report of the rest. */
export interface ReadResult {
  places: LinedPlace[];
  report: ImportReport;
}

function reject(report: ImportReport, line: number, reason: string): void {
  report.rejectedCount++;
  if (report.rejected.length < MAX_REJECTIONS_KEPT) {
    report.rejected.push({ line, reason: reason.slice(0, 500) });
  }
}

/**
 * Reads and checks every row; the places returned are only meaningful when nothing was rejected (a refused
 * place leaves its children without a parent, so the import writes all or nothing).
 */
export async function readPlaces(
  rows: AsyncIterable<SourceRecord>,
  onProgress?: (report: ImportReport) => void,
): Promise<ReadResult> {
  const report = emptyReport();
  const places: LinedPlace[] = [];
  /** The codes of rows refused on their own, with their line (first of each). */
  const refusedRows = new Map<string, number>();
  for await (const row of rows) {
    if (++report.read > MAX_PLACES) throw new Error(`more than ${MAX_PLACES} places in the file`);
    if (row.error !== undefined) reject(report, row.line, row.error);
    else {
      const r = readPlace(row.raw);
      if ("place" in r) places.push({ line: row.line, place: r.place });
      else {
        reject(report, row.line, r.errors.join("; "));
        if (r.code !== undefined && !refusedRows.has(r.code)) refusedRows.set(r.code, row.line);
      }
    }
    if (report.read % 1000 === 0) onProgress?.(report);
  }
  for (const r of checkHierarchy(places, refusedRows)) reject(report, r.line, r.reason);
  report.rejected.sort((a, b) => a.line - b.line);
  return { places, report };
}
