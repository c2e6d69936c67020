/**
 * OpenSPP's CEL predicates (`age_years(r.birthdate) >= 18 && r.gender == 'female'`) read into the same
 * condition tree as every other query form, so they compile to the same bound-parameter SQL over the same
 * attribute allowlist: CEL is parsed (by @marcbachmann/cel-js, with its parse-time structural limits), never
 * evaluated, and a registry row never meets a CEL evaluator.
 *
 * The subset: `&&` `||` `!` (also OpenSPP's words `and` `or` `not`), `== != < <= > >=` between an attribute and
 * a literal (either side), `attr in [..]`, `attr.startsWith(s)`, `attr.endsWith(s)`, `attr.contains(s)` (also
 * as global functions), `age_years(r.birthdate)`, `date(s)` / `timestamp(s)` around a literal, and `true`.
 * Attributes are `r.NAME`, `me.NAME` or `NAME`. Anything else is rjct.filter.invalid naming what was refused.
 */
import { type ASTNode, Environment, ParseError } from "@marcbachmann/cel-js";
import { type Cond, filterError, MAX_COMPARISONS, MAX_DEPTH, type Op, show } from "./query_parse.ts";

/** The longest CEL text read (a predicate of 64 comparisons and 1,000 values fits). */
export const MAX_CEL_LENGTH = 16_384;

// Parse-time bounds (the parser checks them as it goes): nodes for 64 comparisons with 1,000 list values,
// nesting far below anything that could exhaust the stack, `in` lists as long as the compiler accepts.
const ENV = new Environment({
  unlistedVariablesAreDyn: true,
  limits: { maxAstNodes: 2_000, maxDepth: 48, maxListElements: 100, maxMapEntries: 1, maxCallArguments: 2 },
});

const SUPPORTED = "age_years, startsWith, endsWith, contains, date, timestamp";
const ROOTS = new Set(["r", "me"]);
const COMPARE: Record<string, Op> = { "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" };
const FLIP: Record<Op, Op> = {
  eq: "eq",
  ne: "ne",
  lt: "gt",
  le: "ge",
  gt: "lt",
  ge: "le",
  in: "in",
  contains: "contains",
  like: "like",
};

interface State {
  comparisons: number;
}

/**
 * The CEL text of an OpenSPP predicate (a string, `{expression: "…"}` or `{value: "…"}`, also one level
 * down in `value`), or undefined for the spec's predicate list.
 */
export function celText(query: unknown): string | undefined {
  if (typeof query === "string") return query;
  if (typeof query !== "object" || query === null || Array.isArray(query) || "expression1" in query) {
    return undefined;
  }
  const q = query as Record<string, unknown>;
  if (typeof q.expression === "string") return q.expression;
  if (typeof q.value === "string") return q.value;
  return typeof q.value === "object" ? celText(q.value) : undefined;
}

/** Reads a CEL predicate into a condition tree; throws QueryError (rjct.filter.invalid). */
export function parseCel(text: string): Cond {
  if (text.length > MAX_CEL_LENGTH) {
    throw filterError(`CEL predicate is longer than ${MAX_CEL_LENGTH} characters`);
  }
  if (text.trim() === "") throw filterError("CEL predicate is empty");
  let ast: ASTNode;
  try {
    ast = ENV.parse(wordOperators(text)).ast;
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const first = err.message.split("\n")[0];
    throw filterError(`CEL predicate does not parse: ${first}`);
  }
  return node(ast, 0, { comparisons: 0 });
}

function node(n: ASTNode, depth: number, state: State): Cond {
  if (depth > MAX_DEPTH) throw filterError(`query is nested deeper than ${MAX_DEPTH} levels`);
  switch (n.op) {
    case "&&":
    case "||": {
      const items = chain(n, n.op).map((x) => node(x, depth + 1, state));
      return { kind: n.op === "&&" ? "and" : "or", items };
    }
    case "!_":
      return { kind: "not", item: node(n.args as ASTNode, depth + 1, state) };
    case "value":
      if (n.args === true) return { kind: "all" };
      throw filterError(`CEL predicate: the constant ${show(literalShow(n.args))} is not a condition`);
    case "in":
      return comparison(n.args as [ASTNode, ASTNode], "in", state);
    case "rcall":
    case "call":
      return textCall(n, state);
    default:
      if (Object.hasOwn(COMPARE, n.op)) return comparison(n.args as [ASTNode, ASTNode], COMPARE[n.op], state);
      throw filterError(`CEL operator ${show(n.op)} is not supported in a search predicate`);
  }
}

/** The operands of a left-nested chain of one operator (`a && b && c`), so a long chain is one level. */
function chain(n: ASTNode, op: string): ASTNode[] {
  const out: ASTNode[] = [];
  const stack: ASTNode[] = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.op === op) {
      const [a, b] = x.args as [ASTNode, ASTNode];
      stack.push(b, a);
    } else out.push(x);
  }
  return out;
}

function count(state: State): void {
  if (++state.comparisons > MAX_COMPARISONS) {
    throw filterError(`query has more than ${MAX_COMPARISONS} comparisons`);
  }
}

function comparison([a, b]: [ASTNode, ASTNode], op: Op, state: State): Cond {
  count(state);
  const left = operand(a);
  if (op === "in") {
    if (left.attr === undefined || b.op !== "list") {
      throw filterError("CEL `in` needs an attribute and a list");
    }
    const values = (b.args as ASTNode[]).map((x) => literal(x));
    return { kind: "cmp", attr: left.attr, op, value: values };
  }
  const right = operand(b);
  if (left.attr !== undefined && right.attr === undefined) {
    return { kind: "cmp", attr: left.attr, op, value: right.value };
  }
  if (right.attr !== undefined && left.attr === undefined) {
    return { kind: "cmp", attr: right.attr, op: FLIP[op], value: left.value };
  }
  throw filterError("a CEL comparison needs one attribute and one literal value");
}

/** `attr.startsWith(s)`, `startsWith(attr, s)`, endsWith, contains; any other function is refused by name. */
function textCall(n: ASTNode, state: State): Cond {
  const [name, target, args] = n.op === "rcall" ? (n.args as [string, ASTNode, ASTNode[]]) : [
    (n.args as [string, ASTNode[]])[0],
    (n.args as [string, ASTNode[]])[1][0],
    (n.args as [string, ASTNode[]])[1].slice(1),
  ];
  if (name !== "startsWith" && name !== "endsWith" && name !== "contains") {
    throw filterError(
      `CEL function ${show(name)} is not supported in a search predicate (supported: ${SUPPORTED})`,
    );
  }
  count(state);
  const attr = target ? operand(target).attr : undefined;
  const arg = args.length === 1 ? literal(args[0]) : undefined;
  if (attr === undefined || typeof arg !== "string") {
    throw filterError(`CEL ${name}() needs an attribute and one string`);
  }
  if (name === "contains") return { kind: "cmp", attr, op: "contains", value: arg };
  const escaped = arg.replace(/[\\%_]/g, "\\$&");
  return { kind: "cmp", attr, op: "like", value: name === "startsWith" ? `${escaped}%` : `%${escaped}` };
}

/** An attribute reference (`r.x`, `me.x`, `x`, `r.identifier.UIN`, `age_years(r.birthdate)`) or a literal. */
function operand(n: ASTNode): { attr?: string; value?: unknown } {
  const path = attributePath(n);
  if (path !== undefined) return { attr: path };
  if (n.op === "call") {
    const [name, args] = n.args as [string, ASTNode[]];
    if (name === "age_years") {
      const of = args.length === 1 ? attributePath(args[0]) : undefined;
      if (of === undefined || !/^(birth_?date|dob|date_of_birth)$/i.test(of)) {
        throw filterError("CEL age_years() takes the birth date attribute (r.birthdate)");
      }
      return { attr: "age" };
    }
  }
  return { value: literal(n) };
}

function attributePath(n: ASTNode): string | undefined {
  const parts: string[] = [];
  let x = n;
  while (x.op === ".") {
    const [inner, field] = x.args as [ASTNode, string];
    parts.unshift(field);
    x = inner;
  }
  if (x.op !== "id") return undefined;
  const root = x.args as string;
  if (!ROOTS.has(root) || parts.length === 0) parts.unshift(root);
  return parts.join(".");
}

/** A literal value: string, number, negative number, `date("…")` / `timestamp("…")`. */
function literal(n: ASTNode): unknown {
  if (n.op === "value") {
    const v = n.args;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
    if (
      typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ) {
      return Number(v);
    }
    throw filterError(`CEL value ${show(literalShow(v))} is not supported (strings and numbers only)`);
  }
  if (n.op === "-_") {
    const v = literal(n.args as ASTNode);
    if (typeof v === "number") return -v;
  }
  if (n.op === "call") {
    const [name, args] = n.args as [string, ASTNode[]];
    if ((name === "date" || name === "timestamp") && args.length === 1) {
      const v = literal(args[0]);
      if (typeof v === "string") return v;
    }
    if (name !== "date" && name !== "timestamp") {
      throw filterError(
        `CEL function ${show(name)} is not supported in a search predicate (supported: ${SUPPORTED})`,
      );
    }
  }
  throw filterError(`CEL ${show(n.op)} where a literal value was expected`);
}

function literalShow(v: unknown): string {
  return typeof v === "bigint" ? `${v}` : v instanceof Uint8Array ? "bytes" : String(v);
}

const WORDS: Record<string, string> = { and: "&&", or: "||", not: "!(" };

/**
 * OpenSPP writes `and`, `or`, `not` for `&&`, `||`, `!`: rewrites those words (outside string literals, and
 * not after a `.`) so the standard parser reads them. `not` binds as in OpenSPP's (Python's) grammar, looser
 * than a comparison (`not r.sex == 'male'` is `!(r.sex == 'male')`): its operand runs to the next and/or or
 * closing bracket at its level. Linear in the text.
 */
export function wordOperators(text: string): string {
  if (!/\b(and|or|not)\b/.test(text)) return text;
  let out = "";
  let i = 0;
  let prev = "";
  let depth = 0;
  const open: number[] = []; // bracket depth of each `not` still open
  const close = () => {
    while (open.length > 0 && open[open.length - 1] === depth) {
      open.pop();
      out += ")";
    }
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const raw = /[rR]/.test(text[i - 1] ?? "") || /[rR]/.test(text[i - 2] ?? "");
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < text.length && !text.startsWith(quote, j)) j += !raw && text[j] === "\\" ? 2 : 1;
      j = Math.min(text.length, j + quote.length);
      out += text.slice(i, j);
      prev = quote;
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j])) j++;
      const word = text.slice(i, j);
      if (Object.hasOwn(WORDS, word) && prev !== ".") {
        if (word === "not") open.push(depth);
        else close();
        out += ` ${WORDS[word]} `;
      } else out += word;
      prev = word;
      i = j;
    } else {
      if ("([{".includes(c)) depth++;
      else if (")]},?:".includes(c) || ((c === "&" || c === "|") && text[i + 1] === c)) {
        if (")]}".includes(c)) {
          close();
          depth--;
        } else close();
      }
      out += c;
      if (!/\s/.test(c)) prev = c;
      i++;
    }
  }
  while (open.length > 0) {
    open.pop();
    out += ")";
  }
  return out;
}
