/** The Hono environment shared by every route: per-request variables. */
import type { Logger } from "../obs/log.ts";

/**
 * The registry action a request is for, as its route tells the error renderer (before any check runs): a
 * header-level rejection on a sync action is that action's complete signed answer, on an async one the ERR ACK.
 */
export interface RouteAction {
  /** The action's name (`sync-search`, `search`, ..., or a registry-specific path such as `dr:/sync/disabled`). */
  name: string;
  sync: boolean;
  /**
   * A sync action that writes records, its writes safe to repeat: a copy of a request is admitted again until
   * the request has been answered (ReplayKind "write", src/auth/replay.ts).
   */
  writes?: boolean;
  /** The answer's header.action. */
  callbackAction: string;
  /** The complete answer refusing `request` (the request's message as received) whole, and its item count. */
  rejected(
    request: unknown,
    ids: { correlationId: string; now: string; reason: string },
  ): { message: Record<string, unknown>; items: number };
}

/** Who a request was authenticated as (set by the auth chain). */
export interface AuthContext {
  senderId: string;
  clientId?: string;
  scopes: string[];
  keyId?: string;
  /** The sender is marked test: answers carry header.meta.test_mode and logs say so. */
  testMode?: boolean;
  /** The sender's named leniencies (src/senders/settings.ts). */
  lenient?: readonly string[];
}

/** Per-request variables. */
export interface AppVariables {
  requestId: string;
  /** Logger carrying request_id and, once known, sender_id, transaction_id and correlation_id. */
  log: Logger;
  /** Fields later middleware adds to the access log line. */
  logFields: Record<string, unknown>;
  auth?: AuthContext;
  /** The admin token of an admin API (or console) request: its id, role and whether it is DCI_ADMIN_TOKEN. */
  admin?: { id: string; role: string; source: "cli" | "env" };
  /** The registry action of this route (set first on every registry route). */
  action?: RouteAction;
  /** The DCI request as the auth chain read it (header-level rejections answer its items). */
  dciRequest?: { header: Record<string, unknown>; message: unknown };
  /** The client's IP (the TCP peer, or the client a trusted proxy names): logs and per-IP limits. */
  clientIp: string;
  /** The scheme the client used when a trusted proxy says so (`X-Forwarded-Proto`, `Forwarded: proto=`). */
  clientProto?: "http" | "https";
}

/** The app's Hono environment. */
export type AppEnv = { Variables: AppVariables };
