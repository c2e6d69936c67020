/**
 * The console's entry to the audit log: every console write calls `recordAudit` once it has succeeded, with the
 * session's admin token id. It stores the entry with the one store the admin API and the CLI use
 * (src/audit/log.ts), the actor kind read from the token (DCI_ADMIN_TOKEN: env) and the detail bounded there.
 */
import type { Deps } from "../deps.ts";
import { auditDetail, recordAudit as storeAudit } from "../audit/log.ts";
import { stmt } from "../db/statements.ts";

/** Where an admin write came from. */
export type AuditSource = "console" | "api" | "cli";

/** One admin write. */
export interface AuditEntry {
  /** The admin token id that did it (`at_…`), or the OS user for a local command (source cli). */
  actor: string;
  source: AuditSource;
  /** Dotted verb, e.g. `sender.create`, `client.rotate_secret`, `admin_token.revoke`. */
  action: string;
  /** The id of what was written (a sender id, client id, key id, token id). */
  target: string;
  /** Extra facts worth keeping (never a secret): kept as the detail's values, clipped and bounded. */
  detail?: Record<string, unknown>;
}

/** Records one admin write in the audit log; the target kind is the action's first part (`sender.create`). */
export function recordAudit(deps: Deps, entry: AuditEntry): void {
  const kind = entry.source === "cli" ? "cli" : tokenSource(deps, entry.actor) === "env" ? "env" : "token";
  storeAudit(deps.db, {
    source: entry.source,
    actor: { kind, id: entry.actor },
    action: entry.action,
    target: { kind: entry.action.split(".")[0], id: entry.target || null },
    detail: auditDetail(undefined, entry.detail ?? {}),
  }, deps.clock.now());
}

function tokenSource(deps: Deps, id: string): string | undefined {
  return (stmt(deps.db, "SELECT source FROM admin_tokens WHERE id = ?").get(id) as
    | { source: string }
    | undefined)
    ?.source;
}
