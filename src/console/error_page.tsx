/** The console's error page: the message inside the layout (with the nav when there is a session). */
import type { Context } from "hono";
import { type ConsoleEnv, href } from "./context.ts";

/** Answers `status` with `text` as a console page. */
export function errorPage(
  c: Context<ConsoleEnv>,
  status: 403 | 404 | 413 | 500 | 503,
  text: string,
): Response | Promise<Response> {
  c.status(status);
  return c.render(
    <>
      <p class="flash error" role="alert">{text}</p>
      <p>
        <a href={href(c, "")}>Back to the console</a>
      </p>
    </>,
    {
      title: status === 403
        ? "Refused"
        : status === 404
        ? "Not found"
        : status === 413
        ? "Too large"
        : status === 503
        ? "Busy"
        : "Error",
    },
  );
}
