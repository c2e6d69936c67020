/**
 * CSV import (RFC 4180: comma separated, double quotes, quoted fields may span lines), first row = header.
 *
 * Column mapping (header names, case-insensitive; unknown columns are refused). The columns every registry
 * shares, then the registry's own (its profile's `importColumns`: social's group_type, group_size,
 * poverty_score, poverty_score_type; the other registries' `details` columns):
 *   id, record_type (person|group), given_name, second_name, surname, prefix, suffix, maiden_name,
 *   sex, birth_date, death_date, registration_date,
 *   address_line_1, address_line_2, locality, sub_region_code, region_code (or region), postal_code,
 *   country_code (or country),
 *   phone_number, email               several values separated by "|"
 *   identifiers                       "TYPE:VALUE|TYPE:VALUE", e.g. "UIN:123|BRN:B-9"
 *   id.<TYPE>                         one identifier per column, e.g. id.UIN, id.BRN
 *   group_id, relationship            a person's household (the group's id) and relationship code
 *   group_type, group_size, poverty_score, poverty_score_type   (groups)
 *   attr.<name>                       an entry of the extensible attributes object
 */
import type { SourceRecord } from "./batch.ts";
import type { ImportColumn, RegistryProfile } from "../registries/profile.ts";
import { socialRegistry } from "../registries/index.ts";
import { normaliseIdType } from "./attributes.ts";

const PLAIN = new Set([
  "id",
  "record_type",
  "given_name",
  "second_name",
  "surname",
  "prefix",
  "suffix",
  "maiden_name",
  "sex",
  "birth_date",
  "death_date",
  "registration_date",
  "group_id",
  "relationship",
]);
const ADDRESS = new Set([
  "address_line_1",
  "address_line_2",
  "locality",
  "sub_region_code",
  "region_code",
  "region",
  "postal_code",
  "country_code",
  "country",
]);
const NAME = new Set(["given_name", "second_name", "surname", "prefix", "suffix", "maiden_name"]);

/** The registry's own column of a (lower-case) header name, if any. */
function ownColumn(profile: RegistryProfile, l: string): ImportColumn | undefined {
  return profile.importColumns.find((c) => c.column.toLowerCase() === l);
}

/**
 * Checks a header row against the shared columns and `profile`'s (social when not given); returns the normalised
 * column names or throws naming the bad column.
 */
export function checkHeader(header: string[], profile: RegistryProfile = socialRegistry()): string[] {
  const cols = header.map((h) => h.trim().replace(/^\uFEFF/, ""));
  const seen = new Map<string, number>();
  for (const [i, c] of cols.entries()) {
    const l = c.toLowerCase();
    const ok = PLAIN.has(l) || ADDRESS.has(l) || l === "phone_number" || l === "email" ||
      l === "identifiers" || ownColumn(profile, l) !== undefined ||
      (/^id\./i.test(c) && normaliseIdType(c.slice(3)) !== undefined && !c.slice(3).includes(":")) ||
      /^attr\.[a-z0-9_.-]+$/i.test(c);
    if (!ok) {
      const own = profile.importColumns.map((x) => x.column);
      throw new Error(
        `CSV column "${c}" is not in the column mapping of the ${profile.name} registry: use ` +
          `${[...PLAIN, ...ADDRESS, ...own].join(", ")}, ` +
          `phone_number, email, identifiers, id.<TYPE> (a type is a letter, then letters, digits, _ . -) or ` +
          `attr.<name> (README, "Loading data": the CSV column table)`,
      );
    }
    // Two columns for one field: each row would fill it twice, the last cell silently winning.
    const key = columnKey(c);
    const first = seen.get(key);
    if (first !== undefined) {
      const same = cols[first].toLowerCase() === l ? "repeats" : "fills the same field as";
      throw new Error(
        `CSV column "${c}" (column ${i + 1}) ${same} column ${first + 1} "${cols[first]}": ` +
          "give each field one column",
      );
    }
    seen.set(key, i);
  }
  return cols;
}

/** The field a (known) header name fills: names are case-insensitive, `region`/`country` alias their codes. */
function columnKey(c: string): string {
  const l = c.toLowerCase();
  if (l === "region") return "region_code";
  if (l === "country") return "country_code";
  // An identifier type is stored upper-case; an attribute name keeps its case (two names, two entries).
  if (l.startsWith("attr.")) return `attr.${c.slice(5)}`;
  return l;
}

/** Sets `value` at a dotted path of `out` (`details.farm.land_size`); a path ending in `[]` takes a `|` list. */
function setPath(out: Record<string, unknown>, path: string, value: string): void {
  const list = path.endsWith("[]");
  const parts = (list ? path.slice(0, -2) : path).split(".");
  let at = out;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]] = list ? value.split("|").map((x) => x.trim()).filter(Boolean) : value;
}

/** A cell that cannot be read as its column says (the row is rejected naming the column and the cell). */
export class CsvCellError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CsvCellError";
  }
}

/**
 * One CSV row (column → cell) to an input record of `profile` (social). Empty cells are absent values. Throws
 * CsvCellError for a cell its column cannot read.
 */
export function csvRowToRecord(
  cols: string[],
  cells: string[],
  profile: RegistryProfile = socialRegistry(),
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const name: Record<string, string> = {};
  const address: Record<string, string> = {};
  const identifier: Array<{ identifier_type: string; identifier_value: string }> = [];
  const attributes: Record<string, string> = {};
  cols.forEach((col, i) => {
    const v = (cells[i] ?? "").trim();
    if (v === "") return;
    const l = col.toLowerCase();
    const own = ownColumn(profile, l);
    if (own) setPath(out, own.path, v);
    else if (NAME.has(l)) name[l] = v;
    else if (ADDRESS.has(l)) {
      address[l === "region" ? "region_code" : l === "country" ? "country_code" : l] = v;
    } else if (l === "phone_number" || l === "email") {
      out[l] = v.split("|").map((x) => x.trim()).filter(Boolean);
    } else if (l === "identifiers") {
      for (const part of v.split("|")) {
        // A URN type (`urn:openspp:UIN:123`) ends at its last colon, as `urn:…:UIN` is read elsewhere; a code's
        // value may hold colons (`BRN:B:9`).
        const at = /^\s*urn:/i.test(part) ? part.lastIndexOf(":") : part.indexOf(":");
        const type = part.slice(0, at).trim();
        const value = part.slice(at + 1).trim();
        if (at < 0 || type === "" || value === "") {
          throw new CsvCellError(`${col}: ${JSON.stringify(part.trim())} is not TYPE:VALUE (e.g. UIN:123)`);
        }
        identifier.push({ identifier_type: type, identifier_value: value });
      }
    } else if (l.startsWith("id.")) identifier.push({ identifier_type: col.slice(3), identifier_value: v });
    else if (l.startsWith("attr.")) attributes[col.slice(5)] = v;
    else out[l] = v;
  });
  if (Object.keys(name).length) out.name = name;
  if (Object.keys(address).length) out.address = [address];
  if (identifier.length) out.identifier = identifier;
  if (Object.keys(attributes).length) out.attributes = attributes;
  return out;
}

/**
 * The longest CSV cell read, in characters. Values are at most 256 characters and attributes 8 KiB, so a longer
 * cell is a broken file (most often an unclosed quote swallowing the rest of it): refused before it grows.
 */
export const MAX_CSV_FIELD = 65_536;

/**
 * The most cells and characters of one CSV row (an import has a few dozen columns; NDJSON's line is bounded at
 * 1 MB alike): a longer row is a broken file, most often one whose lines end in CR alone (old Mac spreadsheets),
 * which reads as one row, refused before it grows.
 */
export const MAX_CSV_CELLS = 4_096;
export const MAX_CSV_ROW = 1_048_576;

/**
 * Parses CSV text chunks into rows with the line each row starts on. A row with text after a closing quote (`"Cy"x`,
 * most often a stray quote that opened a cell early and swallowed the lines after it up to the next quote) comes
 * with an `error` naming its lines: its cells are not the row that was meant, and the rows it swallowed are in it.
 * Spaces and tabs after a closing quote are kept in the cell, as before.
 */
export async function* csvRows(
  chunks: AsyncIterable<string>,
): AsyncGenerator<{ line: number; cells: string[]; error?: string }> {
  let cells: string[] = [];
  let field = "";
  let quoted = false;
  let afterQuote = false;
  /** Text after a closing quote in this row (not a space or tab). */
  let stray = false;
  let line = 1;
  let rowLine = 1;
  let pendingQuote = false;
  let any = false;
  let rowChars = 0;
  const tooLong = () =>
    new Error(`line ${rowLine}: a cell is longer than ${MAX_CSV_FIELD} characters (an unclosed quote?)`);
  const strayError = () =>
    `${
      line > rowLine ? `lines ${rowLine}-${line}` : `line ${rowLine}`
    }: text after a closing quote (an unbalanced quote? a quote inside a quoted cell is written "")`;
  const rowTooLong = () =>
    new Error(
      `line ${rowLine}: a row is longer than ${MAX_CSV_CELLS} cells or ${MAX_CSV_ROW} characters ` +
        "(lines that end in CR alone, as old Mac spreadsheets write them? Save the file with CRLF or LF line ends)",
    );
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (++rowChars > MAX_CSV_ROW) throw rowTooLong();
      if (pendingQuote) {
        pendingQuote = false;
        if (ch === '"') {
          if (field.length >= MAX_CSV_FIELD) throw tooLong();
          field += '"';
          continue;
        }
        quoted = false;
        afterQuote = true;
      }
      if (quoted) {
        if (ch === '"') pendingQuote = true;
        else {
          if (ch === "\n") line++;
          if (field.length >= MAX_CSV_FIELD) throw tooLong();
          field += ch;
        }
        continue;
      }
      if (ch === '"' && field === "" && !afterQuote) {
        quoted = true;
        any = true;
      } else if (ch === ",") {
        if (cells.length >= MAX_CSV_CELLS) throw rowTooLong();
        cells.push(field);
        field = "";
        afterQuote = false;
        any = true;
      } else if (ch === "\n") {
        cells.push(field);
        if (stray) yield { line: rowLine, cells, error: strayError() };
        else if (any || cells.length > 1 || cells[0] !== "") yield { line: rowLine, cells };
        cells = [];
        field = "";
        afterQuote = false;
        stray = false;
        any = false;
        line++;
        rowLine = line;
        rowChars = 0;
      } else if (ch !== "\r") {
        if (field.length >= MAX_CSV_FIELD) throw tooLong();
        if (afterQuote && ch !== " " && ch !== "\t") stray = true;
        field += ch;
        any = true;
      }
    }
  }
  if (pendingQuote) quoted = false;
  if (quoted) throw new Error(`line ${rowLine}: the file ends inside a quoted field`);
  if (any || field !== "" || cells.length > 0) {
    cells.push(field);
    yield stray ? { line: rowLine, cells, error: strayError() } : { line: rowLine, cells };
  }
}

/** CSV records of `profile` (social) mapped through its column mapping; a row with the wrong cell count is refused. */
export async function* csvRecords(
  chunks: AsyncIterable<string>,
  profile: RegistryProfile = socialRegistry(),
): AsyncGenerator<SourceRecord> {
  let cols: string[] | undefined;
  for await (const { line, cells, error } of csvRows(chunks)) {
    if (!cols) {
      if (error) throw new Error(`the header row: ${error}`);
      cols = checkHeader(cells, profile);
      continue;
    }
    if (error) {
      yield { line, error };
      continue;
    }
    // A row of empty cells (`,,,`, as spreadsheets pad a sheet's end) is a blank line, not a record with no
    // fields (which would be registered under a new random id).
    if (cells.every((c) => c.trim() === "")) continue;
    if (cells.length !== cols.length) {
      yield { line, error: `expected ${cols.length} cells, found ${cells.length}` };
      continue;
    }
    let raw: Record<string, unknown>;
    try {
      raw = csvRowToRecord(cols, cells, profile);
    } catch (e) {
      if (!(e instanceof CsvCellError)) throw e;
      yield { line, error: e.message };
      continue;
    }
    yield { line, raw };
  }
}
