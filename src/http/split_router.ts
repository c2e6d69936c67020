/**
 * The app's router: the admin API's routes in one Hono router, the console's in another, every other route in a
 * third. Hono's default router (SmartRouter) compiles all routes into one RegExpRouter, the fastest, and falls
 * back to its TrieRouter for ALL routes when a single pattern is one the RegExpRouter cannot take, as
 * `POST /admin/v1/subscriptions/import` beside `POST /admin/v1/subscriptions/:code/approve` is. The trie walks and allocates on every match, so one
 * admin route made every registry request pay (issue 12's bench/load.ts regression); the console's
 * `/senders/:id/keys/fetch` beside `/senders/:id/keys/:keyId/remove` is another. Split, such a pattern only moves
 * its own segment to the trie; the registry paths keep the RegExpRouter.
 */
import type { Result, Router } from "hono/router";
import { SmartRouter } from "hono/router/smart-router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { TrieRouter } from "hono/router/trie-router";

/** Hono's default router: the RegExpRouter, or the TrieRouter when a route does not fit the former. */
function defaultRouter<T>(): Router<T> {
  return new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });
}

/**
 * A router that sends paths under each `/{segment}` (and `/{segment}` itself) to a router of that segment and all
 * other paths to another. A route whose pattern may match several (`*`, `/:param/...`) is added to each it may
 * match, in the order routes come, so each router sees its routes (middleware included) in registration order,
 * as one router would.
 */
export class SplitRouter<T> implements Router<T> {
  readonly #segments: Map<string, Router<T>>;
  readonly #outside: Router<T>;

  constructor(segments: string | readonly string[], outside: Router<T> = defaultRouter()) {
    this.#segments = new Map([segments].flat().map((s) => [s, defaultRouter<T>()]));
    this.#outside = outside;
  }

  /** Names the routers (a SmartRouter's name says which router it settled on, once it has matched). */
  get name(): string {
    const inside = [...this.#segments].map(([s, r]) => `/${s}: ${r.name}; `).join("");
    return `SplitRouter(${inside}rest: ${this.#outside.name})`;
  }

  /** The router of the paths outside every segment (the registry and every other public path). */
  get outside(): Router<T> {
    return this.#outside;
  }

  /** The router of the paths under `/{segment}`. */
  inside(segment: string): Router<T> {
    const router = this.#segments.get(segment);
    if (!router) throw new Error(`SplitRouter: no segment ${segment}`);
    return router;
  }

  add(method: string, path: string, handler: T): void {
    const first = path.replace(/^\/+/, "").split("/")[0];
    // A first segment that is empty, a parameter or a wildcard may match any path.
    if (first === "" || /[:*{?]/.test(first)) {
      for (const router of this.#segments.values()) router.add(method, path, handler);
      this.#outside.add(method, path, handler);
    } else (this.#segments.get(first) ?? this.#outside).add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const end = path.indexOf("/", 1);
    const router = this.#segments.get(end === -1 ? path.slice(1) : path.slice(1, end));
    return (router ?? this.#outside).match(method, path);
  }
}
