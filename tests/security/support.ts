/** Shared by the security tests: signed requests to an in-process app. */
import type { TestSender } from "../helpers/auth.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { itemCount } from "../transactions/support.ts";
import { createApp } from "../helpers/app.ts";

/** An answer: HTTP status and JSON body. */
// deno-lint-ignore no-explicit-any
export type Answer = { status: number; body: any };

/**
 * A function that POSTs `message`, signed by `sender`, to `/registry/{path}` of a fresh app on `deps`; `header`
 * overrides header fields (the action is the path's, total_count the number of items).
 */
export function signedPoster(deps: TestDeps, sender: TestSender) {
  const app = createApp(deps);
  return async (
    path: string,
    message: Record<string, unknown>,
    header: Record<string, unknown> = {},
  ): Promise<Answer> => {
    const env = requestEnvelope(sender.senderId, message, {
      action: path.includes("search") ? "search" : path.split("/").pop(),
      nowMs: deps.clock.now(),
      totalCount: itemCount(message),
      header: { sender_uri: "https://cb.example/cb", ...header },
    });
    const res = await app.request(`/registry/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...sender.headers() },
      body: JSON.stringify(sender.sign(env, deps.clock.now())),
    });
    return { status: res.status, body: await res.json() };
  };
}
