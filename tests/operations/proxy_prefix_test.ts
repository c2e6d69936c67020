import { deepEqual, equal, ok } from "node:assert/strict";
import { startServerProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";

/**
 * A reverse proxy on loopback that serves the server under `/dci`: it strips the prefix, forwards the rest,
 * and passes answers back unchanged, as nginx's `location /dci/ { proxy_pass http://upstream/; }` does.
 */
function prefixProxy(upstream: string) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/dci" && !url.pathname.startsWith("/dci/")) {
      return new Response("outside", { status: 404 });
    }
    const target = `${upstream}${url.pathname.slice(4) || "/"}${url.search}`;
    const res = await fetch(target, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "manual",
    });
    // fetch has decoded a gzipped answer (openapi.json): passed on decoded, so without its encoding headers.
    const headers = new Headers(res.headers);
    headers.delete("content-encoding");
    headers.delete("content-length");
    return new Response(res.body, { status: res.status, headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/dci`, close: () => server.shutdown() };
}

/** Fetches `url` and asserts 200; the body text. */
async function get200(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  equal(res.status, 200, `${url} answered ${res.status}`);
  return text;
}

Deno.test("behind a path-prefix proxy: the docs page, its assets and openapi.json load, and no answer names the server's own origin", async () => {
  const srv = await startServerProcess({ env: { DCI_PUBLIC_URL: "https://gw.example.org/dci" } });
  const proxy = prefixProxy(srv.url);
  const origin = `127.0.0.1:${srv.port}`;
  const bodies: Record<string, string> = {};
  try {
    // The docs page as a browser sees it through the proxy: every URL it references resolves under /dci.
    const page = `${proxy.url}/dci_api/v1/docs`;
    bodies.docs = await get200(page);
    const refs = [...bodies.docs.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => new URL(m[1], page).href);
    equal(refs.length, 3);
    for (const ref of refs) {
      ok(ref.startsWith(`${proxy.url}/`), `${ref} escapes the prefix`);
      bodies[ref] = await get200(ref);
    }
    // init.js names the OpenAPI document; Swagger UI resolves it against the page.
    const init = bodies[refs.find((r) => r.endsWith("init.js"))!];
    const specRef = init.match(/url: "([^"]+)"/)?.[1];
    ok(specRef, init);
    const specUrl = new URL(specRef, page).href;
    equal(specUrl, `${proxy.url}/dci_api/v1/openapi.json`);
    bodies.spec = await get200(specUrl);
    equal(JSON.parse(bodies.spec).servers[0].url, "https://gw.example.org/dci");

    // The token's issuer is the public URL.
    const sender = await createServerSender({ url: proxy.url, dataDir: srv.dataDir });
    const claims = JSON.parse(atob(sender.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    equal(claims.iss, "https://gw.example.org/dci");

    for (
      const path of ["/healthz", "/.well-known/jwks.json", "/dci_api/v1/.well-known/jwks.json", "/nowhere"]
    ) {
      const res = await fetch(`${proxy.url}${path}`);
      bodies[path] = await res.text();
      for (const [k, v] of res.headers) bodies[`${path} ${k}`] = v;
    }
    for (const [where, text] of Object.entries(bodies)) {
      ok(!text.includes(origin), `${where} names the server's own origin ${origin}`);
    }
  } finally {
    await proxy.close();
    equal(await srv.stop(), 0);
  }
});

Deno.test("without DCI_PUBLIC_URL the OpenAPI servers entry is relative: behind a prefix proxy it resolves to the prefix", async () => {
  const srv = await startServerProcess();
  const proxy = prefixProxy(srv.url);
  try {
    const specUrl = `${proxy.url}/dci_api/v1/openapi.json`;
    const spec = JSON.parse(await get200(specUrl));
    const base = new URL(spec.servers[0].url, specUrl).href;
    equal(base, `${proxy.url}/`);
    await get200(new URL("healthz", base).href);
    // Swagger UI's Authorize posts to the token URL resolved against that entry: the token endpoint, under the
    // prefix (an absolute path would have left it, to the proxy's root).
    const tokenUrl =
      new URL(spec.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl, base).href;
    equal(tokenUrl, `${proxy.url}/oauth2/client/token`);
    const token = await fetch(tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials",
    });
    deepEqual([token.status, (await token.json()).error], [401, "invalid_client"]);
  } finally {
    await proxy.close();
    equal(await srv.stop(), 0);
  }
});
