import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import {
  drainingAnswer,
  heldBody,
  runCliProcess,
  startServerProcess,
  untilInFlight,
} from "../helpers/server.ts";
import { specFetch } from "../helpers/spec_hooks.ts";
import { TEST_BACKEND } from "../helpers/storage.ts";

async function getJson(url: string) {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

Deno.test("serve: healthz, readyz, one Ed25519 key in both JWKS paths, docs, OpenAPI and metrics", async () => {
  const srv = await startServerProcess();
  try {
    equal((await getJson(`${srv.url}/healthz`)).body.status, "ok");
    equal((await getJson(`${srv.url}/readyz`)).status, 200);
    const jwks = await getJson(`${srv.url}/.well-known/jwks.json`);
    equal(jwks.status, 200);
    match(jwks.headers.get("cache-control")!, /max-age=\d+/);
    equal(jwks.body.keys.length, 1);
    const [key] = jwks.body.keys;
    deepEqual([key.kty, key.crv, key.use, key.alg], ["OKP", "Ed25519", "sig", "EdDSA"]);
    ok(key.x && !key.d, "public part only");
    deepEqual((await getJson(`${srv.url}/dci_api/v1/.well-known/jwks.json`)).body, jwks.body);
    const docs = await fetch(`${srv.url}/dci_api/v1/docs`);
    equal(docs.status, 200);
    const page = await docs.text();
    // Page-relative, so the page also works behind a path-prefix proxy (tests/operations/proxy_prefix_test.ts).
    match(page, /src="docs\/swagger-ui-bundle\.js"/);
    ok(!/https?:\/\//.test(page), "the docs page loads nothing from the internet");
    for (const asset of ["swagger-ui-bundle.js", "swagger-ui.css", "init.js"]) {
      const res = await fetch(`${srv.url}/dci_api/v1/docs/${asset}`);
      equal(res.status, 200, asset);
      ok((await res.text()).length > 10);
    }
    equal((await getJson(`${srv.url}/dci_api/v1/openapi.json`)).body.openapi, "3.1.0");
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    match(metrics, /dci_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    const notFound = await getJson(`${srv.url}/dci_api/v1/nothing`);
    equal(notFound.status, 404);
    equal(notFound.body.message.error.code, "err.request.not_found");
    ok(notFound.headers.get("x-request-id"));
    // A client-chosen path of any length is cut on the access line.
    const long = await fetch(`${srv.url}/${"a".repeat(5000)}`);
    await long.body?.cancel();
    const line = await srv.waitForLog((l) => l.msg === "request" && String(l.path).startsWith("/aaa"));
    equal(String(line.path).length, 257);
    ok(String(line.path).endsWith("…"));
  } finally {
    equal(await srv.stop("SIGTERM"), 0);
  }
});

Deno.test("serve: bad input over real HTTP (415, 413 chunked, 404) and logs carry the request id", async () => {
  const srv = await startServerProcess({ env: { DCI_BODY_LIMIT: "2048" } });
  try {
    let res = await specFetch(`${srv.url}/dci_api/v1/social/registry/sync/search`, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body: "<x/>",
    });
    equal(res.status, 415);
    equal((await res.json()).message.error.code, "err.request.bad");
    // A chunked body (no Content-Length) larger than the limit is cut off as it streams. Bodies are read only
    // by routes that get that far, so this one goes to the token endpoint, which reads before it authenticates.
    const big = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < 8; i++) ctl.enqueue(new TextEncoder().encode("x".repeat(1024)));
        ctl.close();
      },
    });
    res = await fetch(`${srv.url}/oauth2/client/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    equal(res.status, 413);
    // The token endpoint answers in RFC 6749's shape, this refusal too.
    const body = await res.json();
    equal(body.error, "invalid_request");
    match(body.error_description, /larger than/);
    const line = await srv.waitForLog((l) => l.msg === "request" && l.status === 413);
    equal(typeof line.request_id, "string");
    equal(line.request_id, res.headers.get("x-request-id"));
    // The access line says why a request was refused, as its answer did.
    equal(line.error_code, "err.request.bad");
    match(String(line.error), /larger than/);
    res = await specFetch(`${srv.url}/registry/sync/search`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer not-a-token" },
      body: "{}",
    });
    equal(res.status, 401);
    const refused = await res.json();
    const unauthorized = await srv.waitForLog((l) => l.msg === "request" && l.status === 401);
    equal(unauthorized.error_code, refused.message.error.code);
    equal(unauthorized.error, refused.message.error.message);
  } finally {
    await srv.stop();
  }
});

Deno.test("serve: a restart reuses the key; keys rotate shows two keys, retire leaves one", async () => {
  const first = await startServerProcess();
  const dataDir = first.dataDir;
  const kid1 = (await getJson(`${first.url}/.well-known/jwks.json`)).body.keys[0].kid;
  equal(await first.stop(), 0);

  const second = await startServerProcess({ dataDir });
  try {
    const keys = (await getJson(`${second.url}/.well-known/jwks.json`)).body.keys;
    deepEqual(keys.map((k: { kid: string }) => k.kid), [kid1]);
    const rotated = await runCliProcess(["keys", "rotate", "--alg", "rsa", "--now", "--data-dir", dataDir]);
    equal(rotated.code, 0, rotated.stderr);
    const keyId = kid1.split("|")[1];
    ok(
      `${rotated.stdout}${rotated.stderr}`.includes(`dci-server keys retire ${keyId} --force`),
      "rotate --now says the old key still verifies until retired",
    );
    const after = (await getJson(`${second.url}/.well-known/jwks.json`)).body.keys;
    equal(after.length, 2);
    deepEqual(after.map((k: { kty: string }) => k.kty).sort(), ["OKP", "RSA"]);
    // Access tokens it signed are still valid: refused without --force.
    const refused = await runCliProcess(["keys", "retire", keyId, "--data-dir", dataDir]);
    equal(refused.code, 1);
    ok(/stay valid until .*Pass --force to retire it anyway/s.test(refused.stderr), refused.stderr);
    equal((await getJson(`${second.url}/.well-known/jwks.json`)).body.keys.length, 2);
    const retired = await runCliProcess(["keys", "retire", keyId, "--force", "--data-dir", dataDir]);
    equal(retired.code, 0, retired.stderr);
    const last = (await getJson(`${second.url}/.well-known/jwks.json`)).body.keys;
    equal(last.length, 1);
    notEqual(last[0].kid, kid1);
  } finally {
    await second.stop();
  }
});

Deno.test("serve: SIGTERM during a slow request finishes it, then exits 0 and closes cleanly", async () => {
  const srv = await startServerProcess();
  // The token endpoint reads the body before anything else answers, so the request stays in flight until the
  // test ends its body.
  const held = heldBody();
  const pending = fetch(`${srv.url}/oauth2/client/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: held.body,
  });
  await untilInFlight(srv.url, 1);
  const code = srv.stop("SIGTERM");
  // Probed until the stop has reached the server (a probe before it is answered 200).
  const late = await drainingAnswer(srv.url, { "x-request-id": "probe-7" });
  // The draining answer carries the request's id, as every other answer does.
  deepEqual(
    [
      late.status,
      late.body.message.error.code,
      late.headers.get("x-request-id"),
      late.body.message.correlation_id,
    ],
    [503, "err.service.unavailable", "probe-7", "probe-7"],
  );
  // The token endpoint answers in RFC 6749's shape while draining, as its other refusals do.
  const token = await fetch(`${srv.url}/oauth2/client/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", connection: "close" },
    body: "grant_type=client_credentials",
  });
  deepEqual([token.status, token.headers.get("cache-control"), await token.json()], [503, "no-store", {
    error: "temporarily_unavailable",
    error_description: "Server is shutting down",
  }]);
  held.end();
  const res = await pending;
  equal(res.status, 400); // answered in full: the whole body was read, and it has no grant_type
  equal((await res.json()).error, "invalid_request");
  equal(await code, 0);
  ok(srv.logs.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM"));
  ok(srv.logs.some((l) => l.msg === "stopped"));
});

Deno.test("serve: shutdown bound aborts a request that does not finish in time", async () => {
  const srv = await startServerProcess({ env: { DCI_SHUTDOWN_TIMEOUT_MS: "300" } });
  // A body that never ends unless the test ends it: the process can only exit through the bound.
  const held = heldBody();
  const pending = fetch(`${srv.url}/oauth2/client/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: held.body,
  }).then((r) => r.status, () => "aborted");
  await untilInFlight(srv.url, 1);
  // A backstop, far past the bound: were the bound not kept, the body ends here and the log line below is missing.
  const backstop = setTimeout(held.end, 20_000);
  try {
    equal(await srv.stop("SIGINT"), 0);
  } finally {
    clearTimeout(backstop);
  }
  ok(srv.logs.some((l) => l.msg === "shutdown bound reached; aborting in-flight requests"));
  held.end();
  await pending;
});

Deno.test("serve: an invalid setting stops the process at start naming the variable", async () => {
  const res = await runCliProcess(["serve"], { DCI_PORT: "eighty", DCI_DATA_DIR: await Deno.makeTempDir() });
  equal(res.code, 2);
  match(res.stderr, /DCI_PORT="eighty"/);
});

Deno.test({
  name: "serve: with DCI_BACKUP_CRON a backup dir that cannot be written stops the start naming it",
  // Scheduled backups are SQLite's (refused with DCI_DATABASE_URL).
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const dataDir = await Deno.makeTempDir();
  const file = await Deno.makeTempFile(); // a file where the backup dir should be: no dir can be made under it
  try {
    const res = await runCliProcess(["serve"], {
      DCI_DATA_DIR: dataDir,
      DCI_PORT: "0",
      DCI_BACKUP_CRON: "0 3 * * *",
      DCI_BACKUP_DIR: `${file}/backups`,
    });
    equal(res.code, 2, res.stderr);
    match(
      res.stderr,
      /backup dir .*\/backups \(DCI_BACKUP_DIR, where DCI_BACKUP_CRON writes\) cannot be written/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(file);
  }
});

Deno.test({
  name: "serve: an in-memory database is served from the main isolate whatever DCI_HTTP_ISOLATES says",
  // The embedded database's case: with PostgreSQL every isolate reaches the one database.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const srv = await startServerProcess({ dataDir: ":memory:", env: { DCI_HTTP_ISOLATES: "1" } });
  try {
    equal((await getJson(`${srv.url}/readyz`)).status, 200);
    equal((await getJson(`${srv.url}/.well-known/jwks.json`)).body.keys.length, 1);
  } finally {
    equal(await srv.stop("SIGTERM"), 0);
  }
});
