/**
 * Where the suite sees what the server sends, each checked against the spec (tests/helpers/spec_check.ts):
 * - `specApp(app)`: in-process `app.request()` answers (tests/helpers/app.ts builds every test app with it);
 * - `specFetch()`: answers over HTTP from a server process (postJson and the e2e helpers use it);
 * - `specOutbound(client)`: callbacks and notifications an in-process server POSTs (tests/helpers/deps.ts);
 * - `checkReceived()`: callbacks and notifications the loopback receivers get from a server process.
 * A direct check throws a SpecViolation at the call. A check inside a code path that swallows errors (the
 * server's delivery code, a receiver's handler) reports through `failLater`: an uncaught error that fails the
 * running test, so that no body that breaks the spec goes unnoticed.
 */
import {
  answerErrors,
  assertSpecCallback,
  CALLBACK_PATHS,
  callbackErrors,
  isSpecPath,
  SpecViolation,
} from "./spec_check.ts";
import type { SpecRegistry } from "./spec_validator.ts";
import type { OutboundClient, OutboundRequest, OutboundResponse } from "../../src/net/outbound.ts";

/** Fails the running test with `err` from a context that would swallow a throw. */
export function failLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** Checks one answer read from `res` (a clone is read; `res` stays unread). */
export async function checkAnswer(path: string, method: string, res: Response): Promise<void> {
  if (method.toUpperCase() === "HEAD" || !isSpecPath(path)) return;
  const text = await res.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SpecViolation(`${method} ${path} answered ${res.status} with a body that`, [
      `$: not JSON (${JSON.stringify(text.slice(0, 80))})`,
    ], text);
  }
  const errors = answerErrors(new URL(path, "http://x").pathname, res.status, body, method);
  if (errors.length > 0) {
    throw new SpecViolation(`${method} ${path} answered ${res.status} with a body that`, errors, body);
  }
}

function methodOf(input: RequestInfo | URL, init?: RequestInit): string {
  return init?.method ?? (input instanceof Request ? input.method : "GET");
}

function pathOf(input: RequestInfo | URL): string {
  const url = input instanceof Request ? input.url : String(input);
  return new URL(url, "http://localhost").pathname;
}

/** The app with `request()` checking every answer on a DCI registry path (same app, patched in place). */
export function specApp<A extends { request: (...args: never[]) => Response | Promise<Response> }>(
  app: A,
): A {
  const request = app.request as unknown as (
    input: RequestInfo | URL,
    init?: RequestInit,
    ...rest: unknown[]
  ) => Response | Promise<Response>;
  const checked = async (input: RequestInfo | URL, init?: RequestInit, ...rest: unknown[]) => {
    const res = await request(input, init, ...rest);
    await checkAnswer(pathOf(input), methodOf(input, init), res);
    return res;
  };
  (app as unknown as { request: typeof checked }).request = checked;
  return app;
}

/** `fetch()` that checks every answer the server gives on a DCI registry path. */
export async function specFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  await checkAnswer(pathOf(input), methodOf(input, init), res);
  return res;
}

/**
 * Checks what a receiver got, when it is a DCI callback or notification (posted to a callback path, or carrying
 * a callback header.action); reports a violation through `failLater`. Other bodies (a test's own probes) pass.
 */
export function checkReceived(
  path: string,
  body: unknown,
  registry?: SpecRegistry | null | (() => SpecRegistry | null | undefined),
): void {
  if (!isCallback(path, body)) return;
  const of = typeof registry === "function" ? registry() : registry;
  // null: a registry without a spec yaml (a test-only profile, tests/registries/test_profile.ts): not checked.
  if (of === null) return;
  try {
    assertSpecCallback(body, { path, registry: of });
  } catch (err) {
    failLater(err);
  }
}

/**
 * Compiles the callback schemas of `registry` now, so that a receiver's first check does not take the compile
 * time (a few hundred ms, once per process) out of the server's delivery timeout.
 */
export function warmCallbackChecks(registry: SpecRegistry | null = "social"): void {
  if (registry === null) return;
  for (const action of Object.keys(CALLBACK_PATHS)) callbackErrors({ header: { action } }, { registry });
}

/** `checkReceived` for a raw request body (on a callback path, a body that is not JSON fails the check). */
export function checkReceivedText(path: string, text: string, registry?: SpecRegistry | null): void {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* checked as the text it is */ }
  checkReceived(path, body, registry);
}

/** A DCI callback or notification: posted to a callback path, or a JSON body with a callback header.action. */
function isCallback(url: string, body: unknown): boolean {
  const path = new URL(url, "http://x").pathname;
  if (Object.values(CALLBACK_PATHS).some((p) => path.endsWith(p))) return true;
  const action = (body as { header?: { action?: unknown } } | null)?.header?.action;
  return typeof action === "string" && Object.hasOwn(CALLBACK_PATHS, action);
}

/** How an in-process outbound check learns the registry a callback comes from (default social). */
export type RegistryOf = (
  body: unknown,
) => SpecRegistry | null | undefined | Promise<SpecRegistry | null | undefined>;

/** The outbound client with every callback and notification it POSTs checked before it goes out. */
export function specOutbound<C extends OutboundClient>(
  client: C,
  registryOf: RegistryOf = () => undefined,
): C {
  const request = client.request.bind(client);
  const checked = async (url: string, init: OutboundRequest): Promise<OutboundResponse> => {
    if (init.method === "POST") {
      let body: unknown = init.body;
      try {
        body = JSON.parse(init.body ?? "");
      } catch { /* checked as the text it is */ }
      const registry = isCallback(url, body) ? await registryOf(body) : undefined;
      checkReceived(url, body, registry);
    }
    return await request(url, init);
  };
  return Object.assign(client, { request: checked });
}
