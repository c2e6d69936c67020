/**
 * Text matching in the query compiler: `contains` and `like` on text attributes, and the attributes that are
 * not one column: `name` and `full_name` (any name part; a value of several words also as the parts of one name),
 * `phone` and `email` (the registrant_contacts table) and OpenG2P's `search_text` (an identifier value of any
 * type, the record's @id, or a name part).
 *
 * Every value is a bound parameter; a LIKE pattern built here escapes `%`, `_` and `\` (ESCAPE '\'). Text
 * values are compared in NFC, as names are stored (attributes.ts nfc); identifier values exactly as sent. Names
 * and contacts compare case-insensitively, for ASCII letters only (SQLite's LIKE and NOCASE, PostgreSQL's lower()
 * in the C locale: `É` and `é` differ; folding them needs a folded key per name part and its indexes): a prefix
 * (`like "Jo%"`, `startsWith`) and an equality are served by the NOCASE indexes of migration 0014, each name
 * part through its own index (`r.id IN (… UNION ALL …)`: SQLite does not use several indexes for one OR of
 * NOCASE terms). A substring (`contains`, `like "%x"`) reads the rows once, under the statement budget like any
 * scan.
 */
import {
  budgetPrefix,
  type Dialect,
  foldedLikeSql,
  likeSql,
  matchContacts,
  nocaseIn,
  truth,
} from "./query_dialect.ts";
import { filterError, type Op, show } from "./query_parse.ts";
import { nfc, type RecordType, roundedNumber, roundedNumberMessage } from "./attributes.ts";
import { normaliseContact } from "./contacts.ts";

/** What a text comparison depends on. */
export interface TextContext {
  recordType: RecordType;
  /** The storage record type searched (`person` when not given): a checked plain name. */
  storage?: string;
  mode: "search" | "match";
  /** The SQL dialect (SQLite when not given; query_dialect.ts). */
  dialect?: Dialect;
}

type Params = Array<string | number>;

/** The attributes compiled here (lower-case names and aliases). */
const SPECIAL: Record<string, "name" | "phone" | "email" | "search_text"> = {
  name: "name",
  full_name: "name",
  phone: "phone",
  phone_number: "phone",
  mobile: "phone",
  email: "email",
  search_text: "search_text",
};

const NAME_COLUMNS = ["given_name", "second_name", "surname"] as const;

/** Whether `name` is compiled here. */
export function isTextAttribute(name: string): boolean {
  return Object.hasOwn(SPECIAL, name.trim().toLowerCase());
}

/** The LIKE pattern of a `contains` or `like` value (ESCAPE '\'), or a QueryError. */
export function likePattern(op: "contains" | "like", raw: unknown, attr: string): string {
  if (typeof raw !== "string" || raw.length > 256) {
    throw filterError(`${op} needs a string of at most 256 characters for ${show(attr)}`);
  }
  const v = nfc(raw.trim());
  if (op === "contains") return `%${escapeLike(v)}%`;
  let wildcard = false;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === "\\") {
      if (++i >= v.length) throw filterError(`like pattern ${show(raw)} ends with an escape`);
    } else if (v[i] === "%" || v[i] === "_") wildcard = true;
  }
  // No wildcard: a substring, as OpenSPP's `like` (Odoo's ilike wraps the value in %…%).
  return wildcard ? v : `%${v}%`;
}

/** `s` with LIKE's special characters escaped for ESCAPE '\'. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, "\\$&");
}

/** `target LIKE ? ESCAPE '\'` for a text column (ASCII case-insensitive in either dialect). */
export function likeTest(
  target: string,
  op: "contains" | "like",
  raw: unknown,
  attr: string,
  params: Params,
  dialect?: Dialect,
) {
  params.push(likePattern(op, raw, attr));
  return likeSql(dialect, target);
}

/** Compiles a comparison of `name`, `phone`, `email` or `search_text`. */
export function textAttributeTest(attr: string, op: Op, values: unknown[], ctx: TextContext, params: Params) {
  const kind = SPECIAL[attr.trim().toLowerCase()];
  if (kind === "search_text") return searchText(op, values, ctx, params);
  if (kind === "name") {
    if (ctx.recordType !== "person") {
      throw filterError(`attribute ${show(attr)} applies to person records only`);
    }
    const p = positive(op, attr, ["eq", "in", "contains", "like"]);
    const wholes = p === "eq" || p === "in" ? values.map(wordsOf).filter((w) => w !== undefined) : [];
    return negate(
      op,
      wholes.length ? wholeNameTest(p, values, wholes, ctx, params) : nameTest(p, values, ctx, params),
    );
  }
  return negate(
    op,
    contactTest(kind, positive(op, attr, ["eq", "in", "contains", "like"]), values, ctx, params),
  );
}

/** The most words a whole name is read in (its splits bind at most 10 values beside the value's own 3). */
const MAX_NAME_WORDS = 5;

/** The words of a name value of 2 to MAX_NAME_WORDS words, or undefined (one word, more, or not text). */
function wordsOf(value: unknown): string[] | undefined {
  if (typeof value !== "string" || value.length > 256) return undefined;
  const words = value.trim().split(/\s+/);
  return words.length > 1 && words.length <= MAX_NAME_WORDS ? words : undefined;
}

/** One reading of a whole name's words as a person's name parts. */
type NameSplit = Partial<Record<(typeof NAME_COLUMNS)[number], string>>;

/**
 * The readings of a whole name's words (in the order written): given name first and surname last (the words between
 * them the second name), surname first ("Diallo Amina"), a given name of several words ("Mary Ann Smith") and a
 * surname of several ("Maria van der Berg"). A part of several words must be stored so, words and all.
 */
function nameSplits(w: string[]): NameSplit[] {
  const n = w.length;
  const join = (from: number, to: number) => w.slice(from, to).join(" ");
  const splits: NameSplit[] = [
    { given_name: w[0], surname: w[n - 1], ...(n > 2 ? { second_name: join(1, n - 1) } : {}) },
    { surname: w[0], given_name: w[1], ...(n > 2 ? { second_name: join(2, n) } : {}) },
  ];
  if (n > 2) {
    splits.push({ given_name: join(0, n - 1), surname: w[n - 1] }, { given_name: w[0], surname: join(1, n) });
  }
  return splits;
}

/**
 * Whole names (`name eq "Amina Diallo"`, or among the values of `in`; 2 to MAX_NAME_WORDS words): each value as one
 * name part (a surname "van der Berg"), or the words of each whole name as the parts of one of its readings
 * (nameSplits). In search mode one `r.id IN (… UNION ALL …)`, each reading driven by an index of one of its parts
 * and checked on that row (no subquery under an OR, which PostgreSQL would run against every person); in match mode
 * the row's own columns.
 */
function wholeNameTest(
  op: Op,
  values: unknown[],
  wholes: string[][],
  ctx: TextContext,
  params: Params,
): string {
  const splits = wholes.flatMap(nameSplits);
  const splitTest = (alias: string, split: NameSplit) =>
    Object.entries(split).map(([column, word]) => {
      const [sql, p] = nameColumnTest(`${alias}.${column}`, "eq", [word], "name", ctx.dialect);
      params.push(...p);
      return sql;
    }).join(" AND ");
  if (ctx.mode === "match") {
    const parts = namePartTests("r", op, values, "name", ctx, params);
    for (const split of splits) parts.push(`(${splitTest("r", split)})`);
    return `COALESCE((${parts.join(" OR ")}), ${truth(ctx.dialect, false)})`;
  }
  const subqueries = nameSubqueries(op, values, ctx, params, "name");
  for (const split of splits) {
    subqueries.push(
      `SELECT n.id FROM registrants n WHERE ${budgetPrefix(ctx, "n.id")}${splitTest("n", split)} AND ${
        liveNames(ctx)
      }`,
    );
  }
  return `r.id IN (${subqueries.join(" UNION ALL ")})`;
}

function positive(op: Op, attr: string, allowed: Op[]): Op {
  const p = op === "ne" ? "eq" : op;
  if (!allowed.includes(p)) {
    throw filterError(`${show(attr)} supports ne, ${allowed.join(", ")}; not ${op}`);
  }
  return p;
}

function negate(op: Op, test: string): string {
  return op === "ne" ? `NOT ${test}` : test;
}

/** The per-column test of a name part (alias `n` or `r`) and its parameters. */
function nameColumnTest(
  column: string,
  op: Op,
  values: unknown[],
  attr: string,
  dialect: Dialect | undefined,
): [string, Params] {
  if (op === "contains" || op === "like") {
    return [likeSql(dialect, column), [likePattern(op, values[0], attr)]];
  }
  const texts = values.map((v) => {
    if ((typeof v !== "string" && typeof v !== "number") || String(v).length > 256) {
      throw filterError(`invalid value ${show(v)} for ${show(attr)}`);
    }
    return nfc(String(v).trim());
  });
  return [nocaseIn(dialect, column, texts.length), texts];
}

/** Any name part of a person: one index per part in search mode, the row's own columns in match mode. */
function nameTest(op: Op, values: unknown[], ctx: TextContext, params: Params): string {
  const scan = op === "contains" || (op === "like" && /^[%_]/.test(likePattern("like", values[0], "name")));
  if (ctx.mode === "match" || scan) {
    const parts = namePartTests("r", op, values, "name", ctx, params);
    return `COALESCE((${parts.join(" OR ")}), ${truth(ctx.dialect, false)})`;
  }
  return `r.id IN (${nameSubqueries(op, values, ctx, params, "name").join(" UNION ALL ")})`;
}

/** The live persons of the searched storage type, alias `n` (a checked plain name). */
function liveNames(ctx: TextContext): string {
  return `n.record_type = '${ctx.storage ?? "person"}' AND n.deleted_at IS NULL`;
}

/** Each name part's test of `values` on the row `alias` (`r` or `n`), in NAME_COLUMNS order, its values pushed. */
function namePartTests(
  alias: string,
  op: Op,
  values: unknown[],
  attr: string,
  ctx: TextContext,
  params: Params,
): string[] {
  return NAME_COLUMNS.map((c) => {
    const [sql, p] = nameColumnTest(`${alias}.${c}`, op, values, attr, ctx.dialect);
    params.push(...p);
    return sql;
  });
}

function nameSubqueries(op: Op, values: unknown[], ctx: TextContext, params: Params, attr: string): string[] {
  return namePartTests("n", op, values, attr, ctx, params).map((sql) =>
    `SELECT n.id FROM registrants n WHERE ${budgetPrefix(ctx, "n.id")}${sql} AND ${liveNames(ctx)}`
  );
}

/**
 * A LIKE pattern on contacts normalised as stored values are (contacts.ts), character by character so an escape
 * keeps its character: an escaped `-` of a phone pattern goes with its escape (stored numbers have none), where
 * stripping the `-` alone left `555%\`, a pattern ending in an escape (PostgreSQL refuses it).
 */
function normalisePattern(kind: "phone" | "email", pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const escaped = pattern[i] === "\\" && i + 1 < pattern.length;
    const c = escaped ? pattern[++i] : pattern[i];
    const kept = c === "%" || c === "_" || c === "\\" ? c : normaliseContact(kind, c);
    if (kept !== "") out += escaped ? `\\${kept}` : kept;
  }
  return out;
}

/** A phone number or e-mail address of the registrant (normalised as stored; see contacts.ts). */
function contactTest(kind: "phone" | "email", op: Op, values: unknown[], ctx: TextContext, params: Params) {
  let test: string;
  if (op === "contains" || op === "like") {
    const pattern = likePattern(op, values[0], kind);
    params.push(kind, normalisePattern(kind, pattern));
    test = `c.kind = ? AND ${foldedLikeSql(ctx.dialect, "c.value")}`;
  } else {
    const list = values.map((v) => {
      const n = typeof v === "string" || typeof v === "number" ? normaliseContact(kind, nfc(String(v))) : "";
      if (n === "" || n.length > 256) throw filterError(`invalid value ${show(v)} for ${show(kind)}`);
      return n;
    });
    params.push(kind, ...list);
    test = `c.kind = ? AND c.value IN (${list.map(() => "?").join(", ")})`;
  }
  // One registrant (a subscription filter, per event): its contacts as the event recorded them (matchContacts).
  if (ctx.mode === "match") return `EXISTS (SELECT 1 FROM ${matchContacts(ctx.dialect)} c WHERE ${test})`;
  const budget = budgetPrefix(ctx, "c.registrant_id");
  return `r.id IN (SELECT c.registrant_id FROM registrant_contacts c WHERE ${budget}${test})`;
}

/**
 * OpenG2P's `search_text`: the value names the registrant by an identifier value (any type), its @id, or
 * (persons) a name part. Equality only (`eq`, `in`, `ne`).
 */
function searchText(op: Op, values: unknown[], ctx: TextContext, params: Params): string {
  const p = positive(op, "search_text", ["eq", "in"]);
  const texts = values.map((v) => {
    if (roundedNumber(v)) throw filterError(roundedNumberMessage("search_text value", v));
    if (
      (typeof v !== "string" && typeof v !== "number") || String(v).trim() === "" || String(v).length > 128
    ) {
      throw filterError(`invalid value ${show(v)} for "search_text"`);
    }
    return String(v).trim();
  });
  const marks = texts.map(() => "?").join(", ");
  const search = ctx.mode === "search";
  const subs = [
    `SELECT i.registrant_id FROM identifiers i WHERE ${budgetPrefix(ctx, "i.registrant_id")}` +
    `i.id_value IN (${marks})${search ? " AND i.live = 1" : ""}`,
    `SELECT x.id FROM registrants x WHERE x.external_id IN (${marks})`,
  ];
  params.push(...texts, ...texts);
  let test = `r.id IN (${subs.join(" UNION ALL ")})`;
  if (ctx.recordType === "person") {
    if (search) {
      test = `r.id IN (${
        [...subs, ...nameSubqueries(p, texts, ctx, params, "search_text")].join(" UNION ALL ")
      })`;
    } else {
      const names = namePartTests("r", p, texts, "search_text", ctx, params);
      test = `(${test} OR COALESCE((${names.join(" OR ")}), ${truth(ctx.dialect, false)}))`;
    }
  }
  return negate(op, test);
}
