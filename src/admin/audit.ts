/**
 * The audit trail of admin writes: every write from the console, the admin API or the CLI calls `recordAudit`
 * once it has succeeded, with who did it (the admin token id), what, and on which target. The audit log store
 * (table, listing, CSV export) fills this in; until then each entry is one structured log line.
 */
import type { Deps } from "../deps.ts";

/** Where an admin write came from. */
export type AuditSource = "console" | "api" | "cli";

/** One admin write. */
export interface AuditEntry {
  /** The admin token id that did it (`at_…`), or "cli" for a local command run without a token. */
  actor: string;
  source: AuditSource;
  /** Dotted verb, e.g. `sender.create`, `client.rotate_secret`, `admin_token.revoke`. */
  action: string;
  /** The id of what was written (a sender id, client id, key id, token id). */
  target: string;
  /** Extra facts worth keeping (never a secret). */
  detail?: Record<string, unknown>;
}

/** Records one admin write. */
export function recordAudit(deps: Deps, entry: AuditEntry): void {
  deps.log.info("admin write", {
    audit_actor: entry.actor,
    audit_source: entry.source,
    audit_action: entry.action,
    audit_target: entry.target,
    ...(entry.detail ? { audit_detail: entry.detail } : {}),
  });
}
