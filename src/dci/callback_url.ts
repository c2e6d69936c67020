/** Callback and notification URLs come from a sender-supplied base: parsed and checked in one place. */

/** A path that already names a callback endpoint (`…/on-search`, `…/notify`, …). */
export const CALLBACK_SUFFIX = /\/(on-search|on-subscribe|on-unsubscribe|on-status|on-receipt|notify)\/?$/;

/** The base as a URL without fragment, or undefined unless it is an absolute http(s) URL without credentials. */
export function callbackBase(base: string | undefined | null): URL | undefined {
  if (!base) return undefined;
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
