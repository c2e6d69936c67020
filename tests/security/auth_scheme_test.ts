/**
 * Authorization schemes are matched in any case (RFC 9110 §11.1), on registry requests, /metrics and the token
 * endpoint's HTTP Basic; and a token request uses one client authentication method (RFC 6749 §2.3).
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";

type App = ReturnType<typeof createApp>;

const PEER = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 } };

const SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR"];

/** A token request with `params` in a form body and an optional Authorization header. */
function ask(app: App, params: Record<string, string>, authorization?: string) {
  return app.request("/oauth2/client/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(authorization ? { authorization } : {}),
    },
    body: new URLSearchParams({ grant_type: "client_credentials", ...params }),
  }, PEER);
}

const basic = (id: string, secret: string) => btoa(`${id}:${secret}`);

/** An unsigned sync search envelope of `senderId` for one identifier no one has, at the deps' time. */
function searchEnvelope(deps: { clock: { now(): number } }, senderId: string) {
  return requestEnvelope(senderId, {
    transaction_id: crypto.randomUUID(),
    search_request: [{
      reference_id: crypto.randomUUID(),
      timestamp: new Date(deps.clock.now()).toISOString(),
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "NOPE-1" } },
    }],
  }, { totalCount: 1, nowMs: deps.clock.now() });
}

Deno.test("checkBearer() takes the Bearer scheme in any case on a registry search", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    for (const scheme of SCHEMES) {
      const envelope = searchEnvelope(deps, alice.senderId);
      const res = await app.request("/registry/sync/search", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `${scheme} ${alice.token}` },
        body: JSON.stringify(alice.sign(envelope)),
      });
      assert.equal(res.status, 200, `${scheme}: ${await res.clone().text()}`);
      await res.body?.cancel();
    }
  } finally {
    deps.close();
  }
});

Deno.test("GET /metrics takes its token under the Bearer scheme in any case, the token itself exactly", async () => {
  const token = "m".repeat(24) + "Token";
  const deps = await testDeps({ metricsToken: token });
  try {
    const app = createApp(deps);
    for (const scheme of SCHEMES) {
      const res = await app.request("/metrics", { headers: { authorization: `${scheme} ${token}` } });
      assert.equal(res.status, 200, scheme);
      await res.body?.cancel();
    }
    const wrongCase = await app.request("/metrics", {
      headers: { authorization: `Bearer ${token.toUpperCase()}` },
    });
    assert.equal(wrongCase.status, 401);
    await wrongCase.body?.cancel();
  } finally {
    deps.close();
  }
});

Deno.test("token endpoint: HTTP Basic in any case, and one client authentication method per request", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const bob = await createTestSender(deps);
    const aliceBasic = basic(alice.clientId, alice.clientSecret);
    for (const scheme of ["Basic", "basic", "BASIC"]) {
      const res = await ask(app, {}, `${scheme} ${aliceBasic}`);
      assert.equal(res.status, 200, scheme);
      await res.body?.cancel();
    }

    // Basic and other body credentials together: two methods, refused whoever they name (RFC 6749 §2.3).
    const twice: Record<string, string>[] = [
      { client_id: bob.clientId, client_secret: "wrong" },
      { client_id: alice.clientId, client_secret: "wrong" },
      { client_secret: "wrong" },
    ];
    for (const params of twice) {
      const res = await ask(app, params, `Basic ${aliceBasic}`);
      assert.equal(res.status, 400, JSON.stringify(params));
      assert.deepEqual(await res.json(), {
        error: "invalid_request",
        error_description: "use one client authentication method, not HTTP Basic and the body",
      });
    }
    // The same credentials in both places (some client libraries send them so) are one client's.
    const sameTwice: Record<string, string>[] = [
      { client_id: alice.clientId, client_secret: alice.clientSecret },
      { client_secret: alice.clientSecret },
    ];
    for (const params of sameTwice) {
      const res = await ask(app, params, `Basic ${aliceBasic}`);
      assert.equal(res.status, 200, JSON.stringify(params));
      await res.body?.cancel();
    }
    // A body client_id only identifies the client (§3.2.1): allowed when it is the Basic one, refused otherwise.
    const same = await ask(app, { client_id: alice.clientId }, `Basic ${aliceBasic}`);
    assert.equal(same.status, 200);
    await same.body?.cancel();
    const other = await ask(app, { client_id: bob.clientId }, `Basic ${aliceBasic}`);
    assert.equal(other.status, 400);
    assert.equal((await other.json()).error, "invalid_request");

    const body = await ask(app, { client_id: alice.clientId, client_secret: alice.clientSecret });
    assert.equal(body.status, 200);
    await body.body?.cancel();
  } finally {
    deps.close();
  }
});

Deno.test("token endpoint: a parameter sent twice is refused (RFC 6749 §3.2), not read as the last one", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const form = `grant_type=client_credentials&client_id=${alice.clientId}&client_secret=wrong` +
      `&client_secret=${encodeURIComponent(alice.clientSecret)}`;
    const res = await app.request("/oauth2/client/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
    }, PEER);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      error: "invalid_request",
      error_description: "parameter 'client_secret' is repeated",
    });
    // The same in a JSON body (JSON.parse would keep the last), escapes and nesting read as JSON reads them.
    const secret = JSON.stringify(alice.clientSecret);
    for (
      const [body, repeated] of [
        [
          `{"grant_type":"client_credentials","client_id":"${alice.clientId}","client_secret":"wrong",` +
          `"client_\\u0073ecret":${secret}}`,
          "client_secret",
        ],
        [
          `{"grant_type":"client_credentials","x":{"client_id":1,"y":["client_id"]},"client_id":"${alice.clientId}",` +
          `"client_secret":${secret},"x":2}`,
          "x",
        ],
      ]
    ) {
      const json = await app.request("/oauth2/client/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }, PEER);
      assert.equal(json.status, 400, body);
      assert.deepEqual(await json.json(), {
        error: "invalid_request",
        error_description: `parameter '${repeated}' is repeated`,
      });
    }
    const once = await app.request("/oauth2/client/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"grant_type":"client_credentials","x":{"client_id":"a\\"b"},"client_id":"${alice.clientId}",` +
        `"client_secret":${secret}}`,
    }, PEER);
    assert.equal(once.status, 200, await once.clone().text());
  } finally {
    deps.close();
  }
});

Deno.test("token endpoint: RFC 6749 §5.2's error surface (Basic challenge, scope forms, empty values, description set)", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const json = (body: unknown, authorization?: string) =>
      app.request("/oauth2/client/token", {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(body),
      }, PEER);
    // Every 401 challenges HTTP Basic, the one scheme the endpoint takes, however the credentials came (or none).
    for (
      const [what, res] of [
        ["no credentials", await ask(app, {})],
        ["Basic without a colon", await ask(app, {}, `Basic ${btoa(alice.clientId)}`)],
        ["Basic of a wrong secret", await ask(app, {}, `Basic ${basic(alice.clientId, "dcis_wrong")}`)],
        ["a wrong body secret", await ask(app, { client_id: alice.clientId, client_secret: "dcis_wrong" })],
      ] as const
    ) {
      assert.equal(res.status, 401, what);
      assert.equal(res.headers.get("www-authenticate"), 'Basic realm="dci"', what);
      assert.equal(res.headers.get("cache-control"), "no-store", what);
      assert.equal((await res.json()).error, "invalid_client", what);
    }
    // A scope that is not a string is refused, not read as absent (which grants every scope of the client).
    const creds = {
      grant_type: "client_credentials",
      client_id: alice.clientId,
      client_secret: alice.clientSecret,
    };
    for (const scope of [["registry.search"], 5, { a: 1 }]) {
      const res = await json({ ...creds, scope });
      assert.equal(res.status, 400, JSON.stringify(scope));
      assert.deepEqual(await res.json(), {
        error: "invalid_request",
        error_description: "parameter 'scope' must be a string",
      });
    }
    // null and "" are absent (RFC 6749 §3.1: a parameter without a value is omitted): the client's scopes.
    const all = (await (await json(creds)).json()).scope;
    assert.match(all, /registry\.search .*registry\.subscribe/);
    for (const scope of [null, ""]) {
      const res = await json({ ...creds, scope });
      assert.equal(res.status, 200, JSON.stringify(scope));
      assert.equal((await res.json()).scope, all);
    }
    // A scope naming no scope-token is refused (it granted a token no route accepts).
    const blank = await ask(app, {
      client_id: alice.clientId,
      client_secret: alice.clientSecret,
      scope: "  ",
    });
    assert.equal(blank.status, 400);
    assert.equal((await blank.json()).error, "invalid_scope");
    // Empty body values beside Basic are omitted ones, not a second method or another client.
    const empties: Record<string, string>[] = [{ client_id: "" }, { client_secret: "" }, {
      client_id: "",
      client_secret: "",
    }];
    for (const params of empties) {
      const res = await ask(app, params, `Basic ${basic(alice.clientId, alice.clientSecret)}`);
      assert.equal(res.status, 200, JSON.stringify(params));
      await res.body?.cancel();
    }
    // error_description stays within %x20-21 / %x23-5B / %x5D-7E whatever the client sent.
    for (const grant of ['pässwörd"\\x', "a\tb"]) {
      const res = await ask(app, { grant_type: grant });
      assert.equal(res.status, 400, grant);
      const { error, error_description } = await res.json();
      assert.equal(error, "unsupported_grant_type");
      assert.match(error_description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/, error_description);
    }
  } finally {
    deps.close();
  }
});

Deno.test("registry 401 and 403 challenges: invalid_token for a refused token only, insufficient_scope on a 403", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const narrow = await createTestSender(deps, { scopes: ["registry.subscribe"] });
    const search = (sender: typeof alice, authorization: string | undefined, sign = true) => {
      const envelope = searchEnvelope(deps, sender.senderId);
      return app.request("/registry/sync/search", {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(sign ? sender.sign(envelope) : { ...envelope, signature: "x" }),
      });
    };
    const challenge = async (res: Response) => {
      await res.body?.cancel();
      return [res.status, res.headers.get("www-authenticate")];
    };
    // No token: the bare challenge (RFC 6750 §3.1: no error code without authentication information).
    assert.deepEqual(await challenge(await search(alice, undefined)), [401, 'Bearer realm="dci"']);
    // A valid token and a bad signature: not the token's fault, so no invalid_token (a client would fetch tokens).
    assert.deepEqual(await challenge(await search(alice, `Bearer ${alice.token}`, false)), [
      401,
      'Bearer realm="dci"',
    ]);
    // A token without the endpoint's scope: 403 naming the scope it needs.
    assert.deepEqual(await challenge(await search(narrow, `Bearer ${narrow.token}`)), [
      403,
      'Bearer realm="dci", error="insufficient_scope", scope="registry.search"',
    ]);
    // An expired token: invalid_token.
    deps.clock.advance((deps.config.tokenTtlSeconds + 120) * 1000);
    assert.deepEqual(await challenge(await search(alice, `Bearer ${alice.token}`)), [
      401,
      'Bearer realm="dci", error="invalid_token"',
    ]);
  } finally {
    deps.close();
  }
});
