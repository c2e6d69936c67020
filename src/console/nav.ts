/**
 * The console's pages in navigation order: the nav bar, the tests and `deno task screenshots` read this one
 * table. A page module (mounted in routes.tsx) adds its line here.
 */

/** One page of the nav bar. */
export interface NavEntry {
  /** Path relative to the console root ("" is the dashboard). */
  path: string;
  title: string;
  /** Further pages of the area the screenshot script saves (relative paths, e.g. a detail page of demo data). */
  screenshots?: readonly string[];
}

/** Every page in the nav bar, in order. */
export const NAV: readonly NavEntry[] = [
  { path: "", title: "Dashboard" },
  { path: "senders", title: "Senders", screenshots: ["senders/openspp.example.org"] },
  { path: "oauth-clients", title: "OAuth clients" },
  { path: "server-keys", title: "Server keys" },
  { path: "admin-tokens", title: "Admin tokens" },
  { path: "transactions", title: "Transactions" },
  { path: "subscriptions", title: "Subscriptions", screenshots: ["notifications"] },
  {
    path: "registry",
    title: "Registry",
    screenshots: ["registry/social/imports", "registry/social/imports/1"],
  },
  { path: "audit", title: "Audit log" },
];
