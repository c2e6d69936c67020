/** Runs generated cases against a target, judges each answer with the oracle and tallies the figures. */
import type { Category, FuzzCase, FuzzContext } from "./cases.ts";
import { Rng } from "./prng.ts";
import { envelopeCase, queryCase } from "./gen_message.ts";
import { encodingCase, sizeCase } from "./gen_bytes.ts";
import { contentTypeCase, headerCase, signatureCase, tokenCase } from "./gen_transport.ts";
import { adminCase, endpointCase, oauthCase } from "./gen_other.ts";
import { ERR_CODES } from "../../src/dci/errors.ts";
import { type Answer, send } from "./send.ts";
import { answerErrors } from "../helpers/spec_check.ts";

const WEIGHTS: Record<Category, number> = {
  envelope: 20,
  query: 20,
  signature: 9,
  token: 7,
  header: 6,
  content_type: 5,
  size: 6,
  encoding: 8,
  endpoint: 6,
  oauth: 6,
  admin: 7,
};

type Gen = (r: Rng, ctx: FuzzContext, index: number) => FuzzCase;
const GENERATORS: Record<Category, Gen> = {
  envelope: envelopeCase,
  query: queryCase,
  signature: signatureCase,
  token: tokenCase,
  header: headerCase,
  content_type: contentTypeCase,
  size: sizeCase,
  encoding: encodingCase,
  endpoint: endpointCase,
  oauth: oauthCase,
  admin: adminCase,
};

/** Case `index` of run `seed` (each case has its own PRNG, so any one is reproducible alone). */
export function generate(seed: number, index: number, ctx: FuzzContext): FuzzCase {
  const r = new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const category = r.weighted(WEIGHTS);
  return GENERATORS[category](r, ctx, index);
}

const ERR = new Set<string>(ERR_CODES);

function isErrAck(b: Record<string, unknown> | undefined): boolean {
  const m = b?.message as Record<string, unknown> | undefined;
  const e = m?.error as Record<string, unknown> | undefined;
  return m?.ack_status === "ERR" && typeof e?.code === "string" && ERR.has(e.code) &&
    typeof e.message === "string" && typeof m.correlation_id === "string";
}

function isSigned(b: Record<string, unknown> | undefined, status?: string): boolean {
  const h = b?.header as Record<string, unknown> | undefined;
  if (
    typeof b?.signature !== "string" || !h || typeof h.action !== "string" || typeof b.message !== "object"
  ) {
    return false;
  }
  if (status === undefined) return ["rcvd", "pdng", "succ", "rjct"].includes(String(h.status));
  return h.status === status && String(h.status_reason_code ?? "").startsWith("rjct.");
}

/** The oracle: undefined when the answer is acceptable, else what is wrong. */
export function judge(c: FuzzCase, a: Answer): string | undefined {
  if (a.error) return c.raw ? undefined : `no answer: ${a.error}`;
  if (a.status >= 500) return `HTTP ${a.status}`;
  if ((c.raw || c.httpLayer) && a.status >= 400 && !a.json) return undefined; // HTTP layer, before the app
  if (c.method === "HEAD" || a.status === 204) return undefined;
  if (!a.json) return `HTTP ${a.status} without a JSON body`;
  const b = a.json;
  const spec = c.raw ? [] : answerErrors(c.path, a.status, b, c.method);
  if (spec.length > 0) return `HTTP ${a.status} does not match the DCI spec: ${spec.slice(0, 3).join("; ")}`;
  if (a.status >= 400 && a.status < 500) {
    if (isErrAck(b) || isSigned(b, "rjct")) return undefined;
    if (c.kind === "token" && typeof b.error === "string") return undefined; // RFC 6749 §5.2 error
    return `HTTP ${a.status} without the ERR ACK or a rjct envelope`;
  }
  if (a.status >= 200 && a.status < 300) {
    if (c.kind === "sync" && !isSigned(b)) return `HTTP ${a.status} is not a signed envelope`;
    if (c.kind === "async" && (b.message as Record<string, unknown>)?.ack_status !== "ACK") {
      return `HTTP ${a.status} is not an ACK`;
    }
    if (c.kind === "token" && typeof b.access_token !== "string") return "token answer without access_token";
    return undefined;
  }
  return `unexpected HTTP ${a.status}`;
}

/** What one answer counts as in the table: status and code. */
export function answerLabel(a: Answer): string {
  if (a.error) return "no answer";
  const b = a.json;
  const m = b?.message as Record<string, unknown> | undefined;
  const err = (m?.error as Record<string, unknown> | undefined)?.code;
  const h = b?.header as Record<string, unknown> | undefined;
  const code = err || h?.status_reason_code || (h?.status ? `signed ${h.status}` : "") ||
    (m?.ack_status === "ACK" ? "ACK" : "") || (typeof b?.error === "string" ? `oauth ${b.error}` : "");
  return `${a.status} ${code || (a.json ? "json" : "non-json")}`.trim();
}

/** One violation and how to reproduce it. */
export interface Violation {
  index: number;
  category: Category;
  desc: string;
  problem: string;
  request: string;
  answer: string;
}

/** The figures of a run. */
export interface FuzzReport {
  seed: number;
  total: number;
  authentic: number;
  byCategory: Map<Category, number>;
  byAnswer: Map<string, number>;
  /** The first case index that got each answer (a reproducer per row). */
  example: Map<string, number>;
  violations: Violation[];
  seconds: number;
}

function bump<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function preview(c: FuzzCase): string {
  const body = c.raw ?? c.body;
  const text = body === undefined ? "" : typeof body === "string" ? body : new TextDecoder().decode(body);
  return `${c.method} ${c.path.slice(0, 200)} ${JSON.stringify(c.headers).slice(0, 300)} ${
    text.slice(0, 400)
  }`;
}

/** Generates and sends `count` cases (or only `only`) with `concurrency` in flight. */
export async function runFuzz(
  ctx: FuzzContext,
  options: {
    seed: number;
    count: number;
    concurrency?: number;
    only?: number[];
    onCase?: (c: FuzzCase, a: Answer) => void;
  },
): Promise<FuzzReport> {
  const started = performance.now();
  const indices = options.only ?? Array.from({ length: options.count }, (_, i) => i);
  const report: FuzzReport = {
    seed: options.seed,
    total: 0,
    authentic: 0,
    byCategory: new Map(),
    byAnswer: new Map(),
    example: new Map(),
    violations: [],
    seconds: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < indices.length) {
      const index = indices[next++];
      let c: FuzzCase;
      try {
        c = generate(options.seed, index, ctx);
      } catch (err) {
        report.violations.push({
          index,
          category: "envelope",
          desc: "generator failed",
          problem: String(err),
          request: "",
          answer: "",
        });
        continue;
      }
      const a = await send(ctx.url, c);
      report.total++;
      if (c.authentic) report.authentic++;
      bump(report.byCategory, c.category);
      options.onCase?.(c, a);
      const label = answerLabel(a);
      bump(report.byAnswer, label);
      if (!report.example.has(label)) report.example.set(label, c.index);
      const problem = judge(c, a);
      if (problem) {
        report.violations.push({
          index: c.index,
          category: c.category,
          desc: c.desc,
          problem,
          request: preview(c),
          answer: `${a.status} ${a.text.slice(0, 300)}${a.error ?? ""}`,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** The report as a text table. */
export function formatReport(r: FuzzReport): string {
  const lines = [
    `fuzz seed ${r.seed}: ${r.total} inputs in ${r.seconds.toFixed(1)} s (${
      (r.total / r.seconds).toFixed(0)
    }/s); ${r.authentic} validly authenticated and signed (${(100 * r.authentic / r.total).toFixed(0)}%)`,
    "",
    "inputs by category",
    ...[...r.byCategory].sort((a, b) => b[1] - a[1]).map(([k, n]) =>
      `  ${k.padEnd(14)} ${String(n).padStart(6)}`
    ),
    "",
    "answers by status / code",
    ...[...r.byAnswer].sort((a, b) => b[1] - a[1]).map(([k, n]) =>
      `  ${k.padEnd(48)} ${String(n).padStart(6)}   e.g. #${r.example.get(k)}`
    ),
    "",
    `violations: ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) =>
      `  #${v.index} [${v.category}] ${v.desc}: ${v.problem}\n    request: ${v.request}\n    answer: ${v.answer}`
    ),
  ];
  return lines.join("\n");
}
