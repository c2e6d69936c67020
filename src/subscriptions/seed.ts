/**
 * Subscriptions an operator creates for a sender (admin API, CLI, file import), so a partner's test suite finds
 * the subscription codes it expects (e.g. `sub-test-001`). Each is checked as a subscribe request is (same
 * criteria rules, notification URL guard, duplicate and per-sender limits) and starts active.
 */
import { z } from "@hono/zod-openapi";
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { getSender, type Sender } from "../senders/store.ts";
import { callbackBase } from "../dci/callback_url.ts";
import { REGISTRIES } from "../dci/registry_router.ts";
import {
  HEADER_SAFE_ID_RULE,
  isHeaderSafeId,
  MAX_CODE,
  MAX_ID,
  MAX_SENDER_ID,
  MAX_URL,
} from "../dci/limits.ts";
import { MAX_REJECTIONS_KEPT, type Rejection, type SourceRecord } from "../registry/batch.ts";
import { checkCriteria, checkNotifyUrl } from "./criteria.ts";
import { notifyUrl, SubscribeRejection } from "./rules.ts";
import type { SubscriptionRow } from "./store.ts";

/** One subscription to seed: the admin API body, the CLI's flags, one record of an import file. */
export const SeedSubscription = z.strictObject({
  sender_id: z.string().min(1).max(MAX_SENDER_ID),
  /** The subscription code (default: a fresh UUID); unique while its subscription is kept
   * (DCI_SUBSCRIPTION_RETENTION_DAYS), header-safe, at most 99 characters. */
  code: z.string().max(MAX_ID).optional(),
  /** The reference_id status answers show (default: the code). */
  reference_id: z.string().max(MAX_ID).optional(),
  registry: z.enum(REGISTRIES).optional(),
  /** Where notifications are POSTed, as given (default: the sender's callback URL + `/registry/notify`). */
  notify_url: z.string().max(MAX_URL).optional(),
  locale: z.string().max(MAX_CODE).optional(),
  /** As in a subscribe request: reg_type, reg_event_type, notify_record_type, filter_type, filter, frequency. */
  subscribe_criteria: z.record(z.string(), z.unknown()),
});

/** The seed input. */
export type SeedSubscription = z.input<typeof SeedSubscription>;

/** Why a seed was refused: bad input (400) or a conflict with what exists (409). */
export class SeedError extends Error {
  constructor(readonly kind: "invalid" | "conflict", message: string) {
    super(message.slice(0, 999));
    this.name = "SeedError";
  }
}

const LOCALE = /^[a-z]{3}$/;

function parse(raw: unknown): z.output<typeof SeedSubscription> {
  const parsed = SeedSubscription.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new SeedError("invalid", `${issue.path.join(".") || "(record)"}: ${issue.message}`);
}

function checkIds(s: z.output<typeof SeedSubscription>): void {
  for (const field of ["code", "reference_id"] as const) {
    if (s[field] !== undefined && !isHeaderSafeId(s[field])) {
      throw new SeedError("invalid", `${field} ${HEADER_SAFE_ID_RULE}`);
    }
    // A code is a path segment of the admin API and the console, where . and .. resolve to other pages.
    if (field === "code" && (s.code === "." || s.code === "..")) {
      throw new SeedError("invalid", "code must not be . or ..");
    }
  }
  if (s.locale !== undefined && !LOCALE.test(s.locale)) {
    throw new SeedError("invalid", "locale must be three lowercase letters (ISO 639-3), e.g. eng");
  }
}

/**
 * The notification URL: notify_url exactly as given, else the sender's callback URL as subscribe derives it
 * (with the sender's callback URL mode). A sender's registered callback URL wins at send time, as it does over
 * a subscribe request's sender_uri.
 */
function urlOf(s: z.output<typeof SeedSubscription>, sender: Sender): string | undefined {
  if (s.notify_url === undefined) return notifyUrl(sender.callback_base_url, sender.callback_url_mode);
  return callbackBase(s.notify_url)?.toString();
}

/** Creates one active subscription for a sender; throws SeedError naming the field at fault. */
export async function seedSubscription(deps: Deps, raw: unknown): Promise<SubscriptionRow> {
  const s = parse(raw);
  checkIds(s);
  const sender = await getSender(deps, s.sender_id);
  if (!sender) throw new SeedError("invalid", `sender_id: no sender ${JSON.stringify(s.sender_id)}`);
  const registry = s.registry ?? "social";
  const now = isoNow(deps.clock);
  const criteria = await named(
    "subscribe_criteria",
    () => checkCriteria(s.subscribe_criteria, registry, now),
  );
  const url = await named("notify_url", () =>
    checkNotifyUrl(deps, urlOf(s, sender), {
      senderId: s.sender_id,
      missing: s.notify_url === undefined
        ? `sender "${s.sender_id}" has no callback URL: give notify_url`
        : "must be an absolute http(s) URL without credentials",
    }));
  const code = s.code ?? crypto.randomUUID();
  const outcome = await deps.storage.subscriptions.insert({
    ...criteria,
    code,
    sender_id: s.sender_id,
    registry,
    callback_url: url,
    // Its own correlation: no subscribe transaction made it (status queries answer with their own ids).
    correlation_id: crypto.randomUUID(),
    reference_id: s.reference_id ?? code,
    locale: s.locale ?? null,
    active: true,
    now,
  }, deps.config.subscriptionLimit);
  if (outcome.kind === "created" || outcome.kind === "existing") {
    deps.log.info("subscription created by operator", { sender_id: s.sender_id, subscription: code });
    return outcome.row;
  }
  throw new SeedError("conflict", await refusal(deps, s.sender_id, code, outcome.kind, criteria.dedupe_key));
}

/** Runs a subscribe check, turning its refusal into a SeedError naming `field`. */
async function named<T>(field: string, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (!(err instanceof SubscribeRejection)) throw err;
    throw new SeedError("invalid", `${field}: ${err.message}`);
  }
}

async function refusal(
  deps: Deps,
  senderId: string,
  code: string,
  kind: string,
  dedupeKey: string,
): Promise<string> {
  if (kind === "code_taken") return `code: ${JSON.stringify(code)} is already used by a subscription`;
  if (kind === "no_sender") return `sender_id: sender "${senderId}" does not exist`;
  if (kind === "duplicate") {
    return `subscribe_criteria: sender "${senderId}" already has a live subscription with the same event, ` +
      `record type, filter, frequency, start_time and end_time (code ${
        JSON.stringify(await deps.storage.subscriptions.liveDuplicateCode(senderId, dedupeKey))
      })`;
  }
  return `sender_id: sender "${senderId}" already holds the limit of ${deps.config.subscriptionLimit} subscriptions`;
}

/** What an import did: records read, codes created, refusals with their line (or item) numbers. */
export interface SeedReport {
  read: number;
  created: string[];
  rejectedCount: number;
  /** The first refusals (at most `MAX_REJECTIONS_KEPT`). */
  rejected: Rejection[];
}

/**
 * Seeds each record in order (each its own SQLite transaction; a refused record leaves the others in place).
 * A code already used earlier in the same input is refused naming that line. `report` (given, the caller's) holds
 * what was done so far when the input fails part way.
 */
export async function importSubscriptions(
  deps: Deps,
  records: AsyncIterable<SourceRecord> | Iterable<SourceRecord>,
  report: SeedReport = { read: 0, created: [], rejectedCount: 0, rejected: [] },
): Promise<SeedReport> {
  const seen = new Map<string, number>();
  const reject = (line: number, reason: string) => {
    report.rejectedCount++;
    if (report.rejected.length < MAX_REJECTIONS_KEPT) {
      report.rejected.push({ line, reason: reason.slice(0, 500) });
    }
  };
  for await (const r of records) {
    report.read++;
    if (r.error !== undefined) {
      reject(r.line, r.error);
      continue;
    }
    const code = (r.raw as { code?: unknown } | null)?.code;
    const earlier = typeof code === "string" ? seen.get(code) : undefined;
    if (earlier !== undefined) {
      reject(r.line, `code: ${JSON.stringify(code)} is already used by line ${earlier} of this input`);
      continue;
    }
    try {
      const row = await seedSubscription(deps, r.raw);
      seen.set(row.code, r.line);
      report.created.push(row.code);
    } catch (err) {
      if (!(err instanceof SeedError)) throw err;
      reject(r.line, err.message);
    }
  }
  return report;
}
