/**
 * Console writes: each calls the same service function the admin API calls (never a copy of its logic), records
 * the session's admin token as the actor in the audit trail, and answers with a redirect (post/redirect/get) to
 * a page that shows the outcome once. A refusal the operator can fix becomes an error message on that page.
 */
import type { Context } from "hono";
import type { Deps } from "../deps.ts";
import { type AuditActor, auditDetail } from "../audit/log.ts";
import { auditAhead } from "../audit/store.ts";
import { targetKindOf } from "../audit/api_actions.ts";
import { SenderError } from "../senders/store.ts";
import { DciError } from "../dci/errors.ts";
import { KeyError } from "../keys/server_keys.ts";
import { type ConsoleEnv, href } from "./context.ts";
import { keepForNextPage, type OnceValues } from "./session.ts";

/** What a console write does and where it goes next. */
export interface WriteSpec {
  /** Audit verb, e.g. `sender.create`. */
  action: string;
  /** Audit target id (may be filled in by the write's result: see `run`'s return value). */
  target: string;
  /** Console path (relative to the root) to show after success. */
  to: string;
  /** Console path to show after a refusal; defaults to `to`. */
  back?: string;
}

/** What a write's body returns: the message and secret to show, and optionally a target id or `to` it decided. */
export interface WriteResult extends OnceValues {
  target?: string;
  to?: string;
  /**
   * The parsed form as the service function got it: audited as the admin API audits a JSON body (field names,
   * and values only of fields that are never secret: auditDetail).
   */
  input?: Record<string, unknown>;
  /** Values known to be safe, added to the audit detail. */
  detail?: Record<string, unknown>;
}

/**
 * Runs `run` as the session's admin token, records it (its audit row written ahead), and redirects. Viewer
 * sessions never reach here (the console refuses their POSTs before any handler), but the role is checked again:
 * the write must not depend on a middleware's order.
 */
export async function consoleWrite(
  c: Context<ConsoleEnv>,
  deps: Deps,
  spec: WriteSpec,
  run: () => WriteResult | Promise<WriteResult>,
): Promise<Response> {
  const session = c.get("session");
  if (!session || session.role !== "admin") return c.text("Forbidden: this session may only read", 403);
  const actor: AuditActor = {
    kind: await tokenSource(deps, session.tokenId) === "env" ? "env" : "token",
    id: session.tokenId,
  };
  const kind = targetKindOf(spec.action);
  const ahead = {
    source: "console" as const,
    actor,
    action: spec.action,
    target: { kind, id: spec.target || null },
  };
  // The audit row is written ahead of the write (auditAhead); a refusal deletes it.
  let refusal: string | undefined;
  const result = await auditAhead(deps, ahead, async () => {
    try {
      return await run();
    } catch (err) {
      if ((refusal = refusalText(err)) === undefined) throw err;
      return undefined;
    }
  }, (done) =>
    done && {
      ...ahead,
      target: { kind, id: (done.target ?? spec.target) || null },
      detail: auditDetail(done.input, done.detail ?? {}),
    });
  if (!result) {
    await keepForNextPage(deps, session, { flash: { kind: "error", text: refusal! } });
    return c.redirect(href(c, spec.back ?? spec.to), 303);
  }
  await keepForNextPage(deps, session, { flash: result.flash, secret: result.secret });
  return c.redirect(href(c, result.to ?? spec.to), 303);
}

/** Where the session's admin token came from: `env` for DCI_ADMIN_TOKEN, `cli` for a created one. */
async function tokenSource(deps: Deps, id: string): Promise<string | undefined> {
  return (await deps.storage.adminTokens.get(id))?.source;
}

/** The message of an error the operator can act on (bad input, unknown id, conflict), else undefined. */
function refusalText(err: unknown): string | undefined {
  if (err instanceof SenderError) return err.message;
  if (err instanceof DciError) return err.message;
  if (err instanceof FormError || err instanceof KeyError) return err.message;
  return undefined;
}

/** A form field the console itself refuses (missing, malformed, too long). */
export class FormError extends Error {}

/** A text field of a parsed form, trimmed; `max` bounds it (FormError when longer). */
export function formText(body: Record<string, unknown>, name: string, max = 2048): string {
  const v = body[name];
  const s = typeof v === "string" ? v.trim() : "";
  if (s.length > max) throw new FormError(`${name} is longer than ${max} characters`);
  return s;
}
