/**
 * Extension points (issue 13 §7, OpenSPP's four): what a deployment's own `main.ts` may pass to `startServer`
 * (src/mod.ts) to customise this server without forking it. Each hook is optional; without hooks the server is
 * exactly the stock one. Hooks run in the main isolate: a server started with hooks serves HTTP there
 * (DCI_HTTP_ISOLATES does not apply), since functions cannot be sent to other isolates.
 */
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./http/context.ts";
import type { Deps } from "./deps.ts";
import type { Processor } from "./dci/processor.ts";
import type { TxnAction } from "./transactions/states.ts";
import type { RegistryProfile } from "./registries/profile.ts";

/**
 * Renders a failure as the deployment wants it. Given the thrown value and the stock rendering (`fallback`, the
 * DCI ERR ACK or the action's signed rejection); return a Response to use instead, or undefined to keep the
 * stock one. Called for every failure the app renders, 404s included.
 */
export type ErrorRenderer = (
  err: unknown,
  c: Context<AppEnv>,
  fallback: () => Response,
) => Response | undefined;

/** Adds the deployment's own routes to the app (after the stock ones; paths must not collide with them). */
export type RouteInstaller = (app: OpenAPIHono<AppEnv>, deps: Deps) => void;

/** What a notification field builder is told about one notification. */
export interface NotificationContext {
  /** The registry the event happened in. */
  registry: string;
  /** The subscriber and its subscription. */
  senderId: string;
  subscriptionCode: string;
  /** registration, update, delete or a registry-specific event. */
  eventType: string;
  /** The notification's id (also X-DCI-Notification-ID). */
  notificationId: string;
  /** The record as notified (identifiers only for a delete). */
  record: Record<string, unknown>;
}

/**
 * Extra fields added to each notification's `notify_event[].data` (beside version, reg_type, reg_event_type,
 * reg_record_type, reg_records, which it cannot replace). Must be cheap and must not throw; the notification is
 * signed after the fields are added.
 */
export type NotificationFieldBuilder = (n: NotificationContext) => Record<string, unknown>;

/** Every hook a deployment may pass. */
export interface Extensions {
  /** Error formatting. */
  renderError?: ErrorRenderer;
  /** Extra routes. */
  routes?: RouteInstaller;
  /** Processors replacing the stock async processing of their actions (search, subscribe, ...). */
  processors?: Partial<Record<TxnAction, Processor>>;
  /** Extra fields in every notification. */
  notificationFields?: NotificationFieldBuilder;
  /** Whole extra registries (always served, whatever DCI_REGISTRIES says). */
  registries?: readonly RegistryProfile[];
}
