/**
 * The app's router: the admin API's routes in one Hono router, every other route in another. Hono's default
 * router (SmartRouter) compiles all routes into one RegExpRouter, the fastest, and falls back to its TrieRouter
 * for ALL routes when a single pattern is one the RegExpRouter cannot take, as `POST /admin/v1/subscriptions/import`
 * beside `POST /admin/v1/subscriptions/:code/approve` is. The trie walks and allocates on every match, so one
 * admin route made every registry request pay (issue 12's bench/load.ts regression). Split, such a pattern only
 * moves the admin API's half to the trie; the registry paths keep the RegExpRouter.
 */
import type { Result, Router } from "hono/router";
import { SmartRouter } from "hono/router/smart-router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { TrieRouter } from "hono/router/trie-router";

/** Hono's default router: the RegExpRouter, or the TrieRouter when a route does not fit the former. */
function defaultRouter<T>(): Router<T> {
  return new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });
}

/** Which half a route pattern may match: its first segment decides, unless that is a parameter or wildcard. */
function halvesOf(pattern: string, segment: string): { inside: boolean; outside: boolean } {
  const first = pattern.replace(/^\/+/, "").split("/")[0];
  if (first === "" || /[:*{?]/.test(first)) return { inside: true, outside: true };
  return first === segment ? { inside: true, outside: false } : { inside: false, outside: true };
}

/**
 * A router that sends paths under `/{segment}` (and `/{segment}` itself) to one router and all others to another.
 * A route whose pattern may match both halves (`*`, `/:param/...`) is added to both, in the order routes come, so
 * each half sees its routes (middleware included) in registration order, as one router would.
 */
export class SplitRouter<T> implements Router<T> {
  readonly #prefix: string;
  readonly #inside: Router<T>;
  readonly #outside: Router<T>;

  constructor(
    readonly segment: string,
    inside: Router<T> = defaultRouter(),
    outside: Router<T> = defaultRouter(),
  ) {
    this.#prefix = `/${segment}`;
    this.#inside = inside;
    this.#outside = outside;
  }

  /** Names the two routers (a SmartRouter's name says which router it settled on, once it has matched). */
  get name(): string {
    return `SplitRouter(${this.#prefix}: ${this.#inside.name}; rest: ${this.#outside.name})`;
  }

  /** The router of the paths outside `/{segment}` (the registry and every other public path). */
  get outside(): Router<T> {
    return this.#outside;
  }

  /** The router of the paths under `/{segment}`. */
  get inside(): Router<T> {
    return this.#inside;
  }

  add(method: string, path: string, handler: T): void {
    const { inside, outside } = halvesOf(path, this.segment);
    if (inside) this.#inside.add(method, path, handler);
    if (outside) this.#outside.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const p = this.#prefix;
    const inside = path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47);
    return (inside ? this.#inside : this.#outside).match(method, path);
  }
}
