/** The Hono environment shared by every route: per-request variables. */
import type { Logger } from "../obs/log.ts";

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
  /** The client's IP (the TCP peer, or the client a trusted proxy names): logs and per-IP limits. */
  clientIp: string;
  /** The scheme the client used when a trusted proxy says so (`X-Forwarded-Proto`, `Forwarded: proto=`). */
  clientProto?: "http" | "https";
}

/** The app's Hono environment. */
export type AppEnv = { Variables: AppVariables };
