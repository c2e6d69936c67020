import { deepEqual, equal, match } from "node:assert/strict";
import { TrieRouter } from "hono/router/trie-router";
import { SplitRouter } from "../../src/http/split_router.ts";
import { createApp } from "../helpers/app.ts";
import { testDeps } from "../helpers/deps.ts";

/** The handlers a router's match gives, in order (RegExpRouter and TrieRouter shape their results differently). */
function handlers<T>(result: [[T, unknown][], unknown?]): T[] {
  return result[0].map(([h]) => h);
}

/** A concrete path for a route pattern: each parameter and wildcard replaced by a value. */
function samplePath(pattern: string): string {
  return pattern.replace(/:[^/]+/g, "p1").replace(/\*/g, "w1");
}

Deno.test("SplitRouter: a pattern the RegExpRouter refuses under /admin leaves the other paths on the RegExpRouter", () => {
  const router = new SplitRouter<string>("admin");
  router.add("ALL", "*", "everywhere");
  router.add("POST", "/registry/sync/search", "search");
  router.add("ALL", "/admin/v1/*", "admin-auth");
  router.add("POST", "/admin/v1/subscriptions/import", "import");
  router.add("POST", "/admin/v1/subscriptions/:code/approve", "approve");
  router.add("GET", "/:any/healthz", "param-first");

  deepEqual(handlers(router.match("POST", "/registry/sync/search")), ["everywhere", "search"]);
  deepEqual(handlers(router.match("POST", "/admin/v1/subscriptions/import")), [
    "everywhere",
    "admin-auth",
    "import",
  ]);
  deepEqual(handlers(router.match("POST", "/admin/v1/subscriptions/s-1/approve")), [
    "everywhere",
    "admin-auth",
    "approve",
  ]);
  // A route whose first segment is a parameter may match either half.
  deepEqual(handlers(router.match("GET", "/admin/healthz")), ["everywhere", "param-first"]);
  deepEqual(handlers(router.match("GET", "/x/healthz")), ["everywhere", "param-first"]);
  // `/administrator` is not under `/admin`.
  deepEqual(handlers(router.match("GET", "/administrator")), ["everywhere"]);

  equal(router.outside.name, "SmartRouter + RegExpRouter");
  equal(router.inside("admin").name, "SmartRouter + TrieRouter");
});

Deno.test("createApp: the registry paths are matched by the RegExpRouter, and every route as one router matches it", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const post = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
    equal((await app.request("/registry/sync/search", post)).status, 401);
    equal((await app.request("/admin/v1/subscriptions/import", post)).status, 401);
    // A route added later that the RegExpRouter cannot take (outside /admin) would put every request on the
    // slower trie again: this is where it shows.
    match(app.router.name, /; rest: SmartRouter \+ RegExpRouter\)$/);

    // The split router answers every route's path with the same handlers, in the same order, as one router.
    const split = new SplitRouter<unknown>(["admin", "console"]);
    const single = new TrieRouter<unknown>();
    for (const r of app.routes) {
      split.add(r.method, r.path, r.handler);
      single.add(r.method, r.path, r.handler);
    }
    const paths = new Set(app.routes.map((r) => samplePath(r.path)));
    paths.add("/admin");
    paths.add("/console");
    paths.add("/no/such/path");
    for (const path of paths) {
      for (const method of ["GET", "POST", "DELETE"]) {
        deepEqual(
          handlers(split.match(method, path) as [[unknown, unknown][]]),
          handlers(single.match(method, path) as [[unknown, unknown][]]),
          `${method} ${path}`,
        );
      }
    }
  } finally {
    deps.close();
  }
});
