/**
 * Browser tests of the operator console: the real app on a free loopback port (in-process, over fresh test
 * deps), driven by Debian's Chromium through playwright-core. One browser per test file; each test opens its
 * own context (its own cookies). The browser reaches nothing but loopback: every name resolves to nothing and
 * everything not on loopback goes to a proxy that is not there.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { createApp } from "./app.ts";
import type { Config } from "../../src/config.ts";
import { type TestDeps, testDeps } from "./deps.ts";

/** Where Debian installs Chromium (`.ci/run` installs it when absent). */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches headless Chromium, kept to loopback. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", // CI runs as root, where Chromium's sandbox refuses to start
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
      "--proxy-server=http://127.0.0.1:9",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** A console served on loopback with an admin and a viewer token. */
export interface ConsoleServer {
  deps: TestDeps;
  /** `http://127.0.0.1:PORT/console/` */
  url: string;
  origin: string;
  adminToken: string;
  viewerToken: string;
  adminTokenId: string;
  close(): Promise<void>;
}

/** Starts the app (fresh in-memory deps with `overrides`) on a free loopback port. */
export async function startConsole(
  overrides: Partial<Record<keyof Config, string>> = {},
): Promise<ConsoleServer> {
  const deps = await testDeps(overrides);
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "console admin" });
  const viewer = await deps.storage.adminTokens.create({ role: "viewer", name: "console viewer" });
  const app = createApp(deps);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    deps,
    url: `${origin}/console/`,
    origin,
    adminToken: admin.token,
    viewerToken: viewer.token,
    adminTokenId: admin.info.id,
    close: async () => {
      await server.shutdown();
      deps.close();
    },
  };
}

/** A fresh browser context (own cookies) and page, logged in with `token`. */
export async function loggedInPage(
  browser: Browser,
  server: ConsoleServer,
  token: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, server, token);
  return { context, page };
}

/** Logs in through the login form and waits for the dashboard. */
export async function login(page: Page, server: ConsoleServer, token: string): Promise<void> {
  await page.goto(`${server.url}login`);
  await page.getByLabel("Admin or viewer token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(server.url);
}

/** Browser tests keep one browser open across steps; Deno's per-test sanitizers would count it as a leak. */
export const BROWSER_TEST = { sanitizeOps: false, sanitizeResources: false } as const;

/**
 * POSTs `fields` form-encoded to `action` (relative to the page) from inside the page, with its cookies, as a
 * forged or tampered form would; follows the redirect a write answers with (`redirected` tells).
 */
export async function postForm(
  page: Page,
  action: string,
  fields: Record<string, string>,
): Promise<{ status: number; redirected: boolean; text: string }> {
  return await page.evaluate(async ({ action, fields }) => {
    const res = await fetch(action, {
      method: "POST",
      body: new URLSearchParams(fields),
      credentials: "same-origin",
    });
    return { status: res.status, redirected: res.redirected, text: await res.text() };
  }, { action, fields });
}

/** The CSRF token of the page's forms. */
export async function csrfOf(page: Page): Promise<string> {
  return await page.locator('input[name="_csrf"]').first().inputValue();
}
