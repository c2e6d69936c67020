/**
 * The audit log (migration 0018): every admin write, whatever it came through (admin API, CLI, console), is
 * recorded by `recordAudit` with who, what, on which target and when. The detail is bounded and built only from
 * field names and an allowlist of values that are never secret (see `auditDetail`).
 */
import { whereOf } from "../db/where.ts";
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { deleteInChunks } from "../db/purge.ts";

/** Where a write came from. */
export type AuditSource = "api" | "cli" | "console";

/** Who wrote: an admin token (by id), the DCI_ADMIN_TOKEN (its id), or a local command (the OS user). */
export interface AuditActor {
  kind: "token" | "env" | "cli";
  id: string;
}

/** One write to record. */
export interface AuditEntry {
  source: AuditSource;
  actor: AuditActor;
  /** `area.verb`, e.g. `sender.create`, `subscription.approve`. */
  action: string;
  target?: { kind: string; id?: string | null };
  detail?: Record<string, unknown>;
}

/** One recorded write as lists and exports show it. */
export interface AuditRow {
  id: number;
  at: string;
  source: AuditSource;
  actor_kind: AuditActor["kind"];
  actor: string;
  action: string;
  target_kind: string | null;
  target_id: string | null;
  detail: Record<string, unknown>;
}

/** Filters of `listAudit`; `before` is the keyset cursor (an id from `next_before`). */
export interface AuditFilter {
  actor?: string;
  action?: string;
  targetKind?: string;
  targetId?: string;
  source?: AuditSource;
  /** ISO timestamps, inclusive `since`, exclusive `until`. */
  since?: string;
  until?: string;
  before?: number;
  limit?: number;
}

/** Longest stored detail (JSON characters); a larger one drops its longest values first (boundedJson). */
export const MAX_DETAIL_CHARS = 1024;
const MAX_TEXT = 200;

/** The INSERT of one audit row (`?` placeholders; the PostgreSQL store numbers them) and its values. */
export const INSERT_AUDIT =
  `INSERT INTO audit_log (at, source, actor_kind, actor, action, target_kind, target_id, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

/** The bound values of INSERT_AUDIT for `entry`: clipped text, bounded detail. */
export function auditValues(entry: AuditEntry, nowMs: number): string[] {
  return [
    new Date(nowMs).toISOString(),
    entry.source,
    entry.actor.kind,
    clip(entry.actor.id),
    clip(entry.action),
    entry.target ? clip(entry.target.kind) : null,
    entry.target?.id ? clip(entry.target.id) : null,
    boundedJson(entry.detail ?? {}),
  ] as string[];
}

/**
 * The detail of a row written ahead of its write (`auditAhead`, src/audit/store.ts) until the write's outcome
 * replaces it: a row still holding it is a write that began and whose outcome was never recorded.
 */
export const UNFINISHED = { status: "unfinished" } as const;

/** Replaces a row written ahead with its write's outcome (`?` placeholders), and its values. */
export const FINISH_AUDIT =
  "UPDATE audit_log SET action = ?, target_kind = ?, target_id = ?, detail = ? WHERE id = ?";

/** The bound values of FINISH_AUDIT: the row `id` as `entry` (its time, source and actor stay the row's). */
export function finishValues(id: number, entry: AuditEntry): Array<string | number | null> {
  const [, , , , action, targetKind, targetId, detail] = auditValues(entry, 0);
  return [action, targetKind, targetId, detail, id];
}

/** Deletes a row written ahead of a write that was refused (and so wrote nothing). */
export const DROP_AUDIT = "DELETE FROM audit_log WHERE id = ?";

/** Records one admin write; returns its id. */
export function recordAudit(db: Db, entry: AuditEntry, nowMs: number): number {
  return Number(stmt(db, INSERT_AUDIT).run(...auditValues(entry, nowMs)).lastInsertRowid);
}

/**
 * The SELECT of a page of the log (`?` placeholders) and its values: every filter is a fixed SQL fragment with a
 * bound parameter, so the planner can use the index of the one given; one row more than the page tells whether
 * there is a next one.
 */
export function auditQuery(filter: AuditFilter): { sql: string; args: (string | number)[]; limit: number } {
  const { where, args } = whereOf([
    ["id < ?", filter.before ?? Number.MAX_SAFE_INTEGER],
    ["actor = ?", filter.actor],
    ["action = ?", filter.action],
    ["target_kind = ?", filter.targetKind],
    ["target_id = ?", filter.targetId],
    ["source = ?", filter.source],
    ["at >= ?", filter.since],
    ["at < ?", filter.until],
  ]);
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 1000);
  return {
    sql: `SELECT * FROM audit_log WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?+0`,
    args: [...args, limit + 1],
    limit,
  };
}

/** The page of `auditQuery` from its rows (detail parsed). */
export function auditPage(
  rows: Array<Omit<AuditRow, "detail"> & { detail: string }>,
  limit: number,
): { items: AuditRow[]; next_before: number | null } {
  const page = rows.slice(0, limit).map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  return { items: page, next_before: rows.length > limit ? page[page.length - 1].id : null };
}

/** A page of the log, newest first, and the cursor of the next page (null at the end). */
export function listAudit(
  db: Db,
  filter: AuditFilter = {},
): { items: AuditRow[]; next_before: number | null } {
  const q = auditQuery(filter);
  return auditPage(stmt(db, q.sql).all(...q.args) as unknown as Parameters<typeof auditPage>[0], q.limit);
}

/** The chunked DELETE of rows older than a cutoff (`?` placeholders: the cutoff, then the chunk size). */
export const PURGE_AUDIT =
  "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY id LIMIT ?+0)";

/** Deletes rows older than `cutoffMs`, in short batches so writers are not held up; returns how many. */
export function purgeAudit(db: Db, cutoffMs: number): Promise<number> {
  return deleteInChunks(db, PURGE_AUDIT, [new Date(cutoffMs).toISOString()], 5000);
}

/**
 * Field names whose values may be recorded: settings and identifiers, never secrets. Anything else (tokens,
 * client secrets, keys, PEM/JWK material, outbound auth, URLs that may carry credentials) is recorded by name only.
 */
const SAFE_VALUES = new Set([
  "name",
  "role",
  "state",
  "scopes",
  "sender_id",
  "sender",
  "subscription",
  "key_id",
  "client_id",
  "code",
  "registry",
  "record_type",
  "alg",
  "limit_minute",
  "limit_day",
  "auto_approve_subscriptions",
  "signature_policy",
  "signature_max_window_seconds",
  "test_mode",
  "lenient",
  "callback_url_mode",
  "format",
  "status",
  "read",
  "accepted",
  "rejected",
  "created",
]);

/**
 * The detail of a write from its input (a JSON body, CLI options or a console form as parsed): `fields` lists
 * every name given (a field left undefined was not given), and each allowlisted name's value (clipped) is kept;
 * `extra` adds values the caller knows are safe (e.g. a status).
 */
export function auditDetail(
  input: unknown,
  extra: Record<string, unknown> = {},
  options: { values?: boolean } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input && typeof input === "object" && !Array.isArray(input)) {
    const entries = Object.entries(input as Record<string, unknown>);
    const given = entries.filter(([, v]) => v !== undefined).slice(0, 32);
    const names = given.map(([k]) => k.replace(/-/g, "_"));
    if (names.length > 0) out.fields = names.map(clip);
    for (const [k, v] of given) {
      const name = k.replace(/-/g, "_");
      if (options.values !== false && SAFE_VALUES.has(name)) out[name] = safeValue(v);
    }
    if (options.values === false) return addExtra(out, extra);
    const auth = (input as Record<string, unknown>).outbound_auth;
    if (auth && typeof auth === "object" && typeof (auth as { type?: unknown }).type === "string") {
      out.outbound_auth_type = clip((auth as { type: string }).type);
    }
  }
  return addExtra(out, extra);
}

function addExtra(out: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(extra)) out[k] = safeValue(v);
  return out;
}

function safeValue(v: unknown): unknown {
  if (typeof v === "string") return clip(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return v;
  if (Array.isArray(v)) return v.slice(0, 16).map((x) => (typeof x === "string" ? clip(x) : safeValue(x)));
  return "[object]";
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

/**
 * The detail as stored, at most MAX_DETAIL_CHARS: one too long drops its longest values first (the request's
 * `fields` list last), marked `truncated`, so the field names and the short values (ids, settings) stay.
 */
function boundedJson(detail: Record<string, unknown>): string {
  const text = JSON.stringify(detail);
  if (text.length <= MAX_DETAIL_CHARS) return text;
  const kept: Record<string, unknown> = { ...detail, truncated: true };
  const longest = Object.keys(detail).filter((k) => k !== "fields")
    .sort((a, b) => JSON.stringify(detail[b]).length - JSON.stringify(detail[a]).length);
  for (const name of longest) {
    delete kept[name];
    const shorter = JSON.stringify(kept);
    if (shorter.length <= MAX_DETAIL_CHARS) return shorter;
  }
  // Only the field names are left: as many as fit.
  const names = Array.isArray(detail.fields) ? detail.fields as unknown[] : [];
  for (let n = names.length; n >= 0; n--) {
    const shorter = JSON.stringify({ fields: names.slice(0, n), truncated: true });
    if (shorter.length <= MAX_DETAIL_CHARS) return shorter;
  }
  return JSON.stringify({ truncated: true });
}
