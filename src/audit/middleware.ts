/** The one middleware that audits admin API writes: one row names who did what to what, written ahead of it. */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { type AuditActor, auditDetail, type AuditSource } from "./log.ts";
import { API_ACTIONS, type IdSource } from "./api_actions.ts";
import { auditAhead } from "./store.ts";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Records every non-read request of the router it is mounted on but a refused one (4xx), its row written ahead
 * of the write (`auditAhead`: a write whose row cannot be recorded is not made, and one cut short by a stop
 * leaves its row `unfinished`, naming the method and path). `actor` says who the request was authenticated as
 * (set by the authentication in front of it); `prefix` is the router's mount path, removed from the matched
 * route before it is looked up in API_ACTIONS.
 */
export function auditWrites(
  deps: Deps,
  options: { source: AuditSource; prefix: string; actor: (c: Context<AppEnv>) => AuditActor | undefined },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const actor = READS.has(c.req.method) ? undefined : options.actor(c);
    if (!actor) return await next();
    const ahead = { source: options.source, actor, action: `${c.req.method} ${c.req.path}` };
    await auditAhead(deps, ahead, next, async () => {
      const route = c.req.routePath.startsWith(options.prefix)
        ? c.req.routePath.slice(options.prefix.length)
        : c.req.routePath;
      const key = `${c.req.method} ${route}`;
      const known = API_ACTIONS[key];
      // A refused write (4xx) wrote nothing, but for a route whose refusal is itself kept (a failed JWKS fetch:
      // 502). A failure (5xx) is kept: the write may have been made in part.
      const status = c.res.status;
      if (status >= 400 && status < 500 && status !== known?.refusedWrite) return undefined;
      const body = await jsonBody(c);
      const id = known?.id ? await targetId(c, known.id, body) : undefined;
      const registry = c.req.param("registry");
      const fromAnswer = known?.answerDetail ? await answerFields(c, known.answerDetail) : {};
      return {
        ...ahead,
        action: known?.action ?? key,
        target: known ? { kind: known.target, id } : undefined,
        detail: auditDetail(
          body,
          { status, ...(registry ? { registry } : {}), ...fromAnswer },
          { values: known?.values },
        ),
      };
    });
  };
}

/** The request's JSON body as the handler read it (Hono keeps the parsed body), or undefined. */
async function jsonBody(c: Context<AppEnv>): Promise<unknown> {
  if (!(c.req.header("content-type") ?? "").includes("json")) return undefined;
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}

async function targetId(c: Context<AppEnv>, from: IdSource, body: unknown): Promise<string | undefined> {
  if ("param" in from) return c.req.param(from.param);
  if ("params" in from) return `${c.req.param(from.params[0])}/${c.req.param(from.params[1])}`;
  if ("body" in from) return stringField(body, from.body);
  // The answer may carry a secret (a new client's): only the one named field is read from it.
  return stringField(await jsonAnswer(c), from.answer);
}

/** The named fields of the (JSON) answer, under their detail names; only those are read from it. */
async function answerFields(
  c: Context<AppEnv>,
  names: Record<string, string>,
): Promise<Record<string, unknown>> {
  const answer = await jsonAnswer(c);
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(names)) {
    const v = answer && typeof answer === "object" ? (answer as Record<string, unknown>)[field] : undefined;
    // A list too (the codes an import created): auditDetail keeps its first values.
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || Array.isArray(v)) {
      out[name] = v;
    }
  }
  return out;
}

/** The answer's JSON body (a copy: the answer itself is still sent), or undefined when it has none. */
async function jsonAnswer(c: Context<AppEnv>): Promise<unknown> {
  if (!(c.res.headers.get("content-type") ?? "").includes("json")) return undefined;
  try {
    return await c.res.clone().json();
  } catch {
    return undefined;
  }
}

function stringField(obj: unknown, name: string): string | undefined {
  const v = obj && typeof obj === "object" ? (obj as Record<string, unknown>)[name] : undefined;
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
}
