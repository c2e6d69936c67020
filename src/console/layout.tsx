/** The console's page frame: head with the hashed assets, skip link, nav bar, flash message, "shown once" dialog. */
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import { ASSETS } from "./assets.ts";
import type { ConsoleEnv } from "./context.ts";
import { NAV } from "./nav.ts";
import { Flash, SecretDialog } from "./components.tsx";

declare module "hono" {
  interface ContextRenderer {
    (content: string | Promise<string>, props: { title: string }): Response | Promise<Response>;
  }
}

/** Props of every rendered page. */
export interface PageProps {
  title: string;
  children?: Child;
}

/** The console layout (used by jsxRenderer: `c.render(body, { title })`). */
export function consoleLayout() {
  return function Layout({ title, children }: PageProps) {
    const c = useRequestContext<ConsoleEnv>();
    const base = c.get("base");
    const session = c.get("session");
    const once = c.get("once") ?? {};
    const current = c.req.path.replace(/^\/console\/?/, "").split("/")[0];
    return (
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}' />
          <title>{`${title} · dci-server console`}</title>
          <link rel="stylesheet" href={`${base}assets/${ASSETS.css.name}`} />
          <script src={`${base}assets/${ASSETS.htmx.name}`} defer></script>
          <script src={`${base}assets/${ASSETS.script.name}`} defer></script>
        </head>
        {/* htmx requests (hx-post …) carry the CSRF token as a header, set once here for the whole page. */}
        <body
          class={session ? undefined : "bare"}
          hx-headers={session ? JSON.stringify({ "X-CSRF-Token": session.csrf }) : undefined}
        >
          {session && (
            <>
              <a class="skip" href="#main">Skip to content</a>
              <nav class="side" aria-label="Console">
                <a class="brand" href={base}>dci-server console</a>
                <ul>
                  {NAV.map((p) => (
                    <li>
                      <a
                        href={p.path === "" ? base : `${base}${p.path}`}
                        aria-current={p.path === current ? "page" : undefined}
                      >
                        {p.title}
                      </a>
                    </li>
                  ))}
                </ul>
                <div class="who">
                  Signed in: <span class="mono">{session.tokenName}</span> ({session.role})
                  <form method="post" action={`${base}logout`}>
                    <input type="hidden" name="_csrf" value={session.csrf} />
                    <button type="submit" class="secondary">Log out</button>
                  </form>
                </div>
              </nav>
            </>
          )}
          <main id="main">
            <h1>{title}</h1>
            {once.flash && <Flash kind={once.flash.kind} text={once.flash.text} />}
            {children}
            {once.secret && <SecretDialog {...once.secret} />}
          </main>
          <dialog id="confirm-dialog" aria-labelledby="confirm-text">
            <p id="confirm-text" data-confirm-text></p>
            <div class="actions">
              <button type="button" class="danger" data-confirm-yes>Confirm</button>
              <button type="button" class="secondary" data-confirm-no>Cancel</button>
            </div>
          </dialog>
        </body>
      </html>
    );
  };
}
