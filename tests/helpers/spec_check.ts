/**
 * What the server sends, checked against the registry's spec yaml: the answer to a request (by the request's
 * path and the HTTP status) and a callback or notification (by the path it was posted to and its header.action).
 *
 *   answerErrors("/dci_api/v1/crvs/registry/sync/search", 200, body)   // [] when the body matches the spec
 *   assertSpecAnswer(path, status, body)                                // throws SpecViolation otherwise
 *   assertSpecCallback(body, { path: "/cb/registry/on-search" })        // a callback the server POSTed
 *
 * The choice of schema:
 * - an async endpoint (`search`, `subscribe`, `unsubscribe`, `txn/status`, `receipt`) answers the spec's ACK
 *   `Response` (components/responses/Response) at every status: `ACK` on 2xx, `ERR` with an error on 4xx/5xx;
 * - a sync endpoint answers its operation's default response (e.g. an `on-search` envelope with a complete
 *   SearchResponse), also for header-level rejections; a transport or trust failure (4xx/5xx) may instead be the
 *   ERR `Response`, whose error codes are the spec's `err.*` only;
 * - any other path under a registry prefix (an unknown endpoint, a wrong method) answers the ERR `Response`.
 * Operations a registry's yaml lacks are taken from where spec_defects.ts says (`operationRegistry`).
 */
import { pointerSegment, specErrors, specHas, type SpecRegistry } from "./spec_validator.ts";
import { operationRegistry } from "./spec_defects.ts";

const REGISTRIES: readonly SpecRegistry[] = ["social", "crvs", "fr", "dr", "ibr"];

/** The callback path (in the spec) of each callback action the server sends. */
export const CALLBACK_PATHS: Readonly<Record<string, string>> = {
  "on-search": "/registry/on-search",
  "on-subscribe": "/registry/on-subscribe",
  "on-unsubscribe": "/registry/on-unsubscribe",
  "txn-on-status": "/registry/txn/on-status",
  "on-receipt": "/registry/on-receipt",
  notify: "/registry/notify",
};

const ACK_SCHEMA = "/components/responses/Response/content/application~1json/schema";

/** A body the server sent that does not match the spec. */
export class SpecViolation extends Error {
  constructor(readonly what: string, readonly errors: string[], body: unknown) {
    const shown = JSON.stringify(body);
    super(
      `${what} does not match the DCI spec:\n${errors.map((e) => `  - ${e}`).join("\n")}\n  body: ${
        shown === undefined ? "(none)" : shown.length > 3000 ? `${shown.slice(0, 3000)}...` : shown
      }`,
    );
    this.name = "SpecViolation";
  }
}

/** Where a request path lands: the registry and the spec path of the endpoint (`/registry/sync/search`). */
export interface SpecTarget {
  registry: SpecRegistry;
  endpoint: string;
}

/** The registry and spec endpoint of a request path, or undefined for a path outside the DCI registry API. */
export function specTarget(path: string): SpecTarget | undefined {
  const p = path.split("?")[0];
  const short = /^(?:\/dci_api\/v1)?(\/registry(?:\/.*)?)$/.exec(p);
  if (short) return { registry: "social", endpoint: short[1] };
  const long = /^\/dci_api\/v1\/([a-z]+)(\/registry(?:\/.*)?)$/.exec(p);
  if (long && (REGISTRIES as readonly string[]).includes(long[1])) {
    return { registry: long[1] as SpecRegistry, endpoint: long[2] };
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isAck(body: unknown): boolean {
  return isObject(body) && isObject(body.message) && "ack_status" in body.message;
}

/** The pointer of POST `endpoint`'s operation in the yaml that defines it, or undefined. */
function operation(
  registry: SpecRegistry,
  endpoint: string,
): { registry: SpecRegistry; pointer: string } | undefined {
  const from = operationRegistry(registry, endpoint);
  const pointer = `/paths/${pointerSegment(endpoint)}/post`;
  return specHas(from, pointer) ? { registry: from, pointer } : undefined;
}

function ackErrors(registry: SpecRegistry, status: number, body: unknown): string[] {
  const errors = specErrors(registry, ACK_SCHEMA, body);
  const message = isObject(body) && isObject(body.message) ? body.message : {};
  if (status >= 400 && (message.ack_status !== "ERR" || !isObject(message.error))) {
    errors.push(`$.message: an HTTP ${status} answer must be ack_status "ERR" with an error`);
  }
  if (status < 400 && message.ack_status === "ERR") {
    errors.push(`$.message.ack_status: "ERR" answered with HTTP ${status} (an ERR is a 4xx or 5xx)`);
  }
  return errors;
}

/**
 * The errors of the body the server answered to `method path` with HTTP `status` ([] when it matches the
 * spec, and for paths outside the DCI registry API).
 */
export function answerErrors(path: string, status: number, body: unknown, method = "POST"): string[] {
  const target = specTarget(path);
  if (!target) return [];
  const op = method.toUpperCase() === "POST" ? operation(target.registry, target.endpoint) : undefined;
  const syncPointer = op && specHas(op.registry, `${op.pointer}/responses/default/content`)
    ? `${op.pointer}/responses/default/content/application~1json/schema`
    : undefined;
  if (!syncPointer) return ackErrors(target.registry, status, body);
  if (status >= 400 && isAck(body)) return ackErrors(target.registry, status, body);
  return specErrors(op!.registry, syncPointer, body);
}

/** Where a callback was posted and which registry sent it (default social). */
export interface CallbackWhere {
  /** The URL or path the server POSTed to. */
  path?: string;
  registry?: SpecRegistry;
}

/** The errors of a callback or notification the server POSTed ([] when it matches the spec). */
export function callbackErrors(body: unknown, where: CallbackWhere = {}): string[] {
  const registry = where.registry ?? "social";
  const header = isObject(body) && isObject(body.header) ? body.header : {};
  const action = typeof header.action === "string" ? header.action : undefined;
  const byAction = action === undefined ? undefined : CALLBACK_PATHS[action];
  const pathname = where.path === undefined ? undefined : new URL(where.path, "http://x").pathname;
  const byPath = pathname === undefined
    ? undefined
    : Object.values(CALLBACK_PATHS).find((p) => pathname.endsWith(p) || pathname.endsWith(p.slice(9)));
  if (!byAction) {
    return [`$.header.action: ${JSON.stringify(action)} is not a callback action the spec knows`];
  }
  if (byPath && byPath !== byAction) {
    return [`$.header.action: "${action}" posted to ${pathname}, which is the ${byPath} endpoint`];
  }
  const op = operation(registry, byAction);
  if (!op) return [`the ${registry} spec has no ${byAction} operation`];
  return specErrors(op.registry, `${op.pointer}/requestBody/content/application~1json/schema`, body);
}

/** Throws a SpecViolation when the answer to `method path` does not match the spec. */
export function assertSpecAnswer(path: string, status: number, body: unknown, method = "POST"): void {
  const errors = answerErrors(path, status, body, method);
  if (errors.length > 0) {
    throw new SpecViolation(`${method} ${path} answered ${status} with a body that`, errors, body);
  }
}

/** Throws a SpecViolation when a callback or notification does not match the spec. */
export function assertSpecCallback(body: unknown, where: CallbackWhere = {}): void {
  const errors = callbackErrors(body, where);
  if (errors.length > 0) {
    throw new SpecViolation(`The callback POSTed to ${where.path ?? "(unknown path)"}`, errors, body);
  }
}

/** True for a path (or URL) the server answers DCI bodies on. */
export function isSpecPath(path: string): boolean {
  return specTarget(new URL(path, "http://x").pathname) !== undefined;
}
