/** Callback and notification URLs come from a sender-supplied base: parsed and checked in one place. */
import { MAX_URL } from "./limits.ts";

/** A path that already names a callback endpoint (`…/on-search`, `…/notify`, …). */
export const CALLBACK_SUFFIX = /\/(on-search|on-subscribe|on-unsubscribe|on-status|on-receipt|notify)\/?$/;

/**
 * The base as a URL without fragment, or undefined unless it is an absolute http(s) URL without credentials of at
 * most MAX_URL characters.
 */
export function callbackBase(base: string | undefined | null): URL | undefined {
  if (!base || base.length > MAX_URL) return undefined;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password) {
    return undefined;
  }
  url.hash = "";
  return url;
}

/** `path` without its trailing slashes, in linear time (the pattern `/\/+$/` is quadratic on a run of slashes). */
export function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return path.slice(0, end);
}
