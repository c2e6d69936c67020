/**
 * requireJson() asks for application/json only of a request that carries a body: the admin actions that take
 * none (disable, enable, revoke, retry, …) answer a bare POST with no Content-Type, in process and over real
 * HTTP/1.1; a body in another type is still refused with 415; a NUL character in a body or path with 400.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";

async function setUp() {
  const deps = await testDeps();
  const app = createApp(deps);
  const { token } = await deps.storage.adminTokens.create({ role: "admin" });
  const auth = { authorization: `Bearer ${token}` };
  const created = await app.request("/admin/v1/senders", {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ sender_id: "p1", name: "Partner" }),
  });
  assert.equal(created.status, 201, await created.text());
  return { deps, app, auth };
}

Deno.test("requireJson() lets an admin POST without a body through, with no Content-Type or a zero length", async () => {
  const { deps, app, auth } = await setUp();
  try {
    const bare = await app.request("/admin/v1/senders/p1/disable", { method: "POST", headers: auth });
    assert.equal(bare.status, 200, await bare.text());
    const empty = await app.request("/admin/v1/senders/p1/enable", {
      method: "POST",
      headers: { ...auth, "content-length": "0" },
      body: "",
    });
    assert.equal(empty.status, 200, await empty.text());
  } finally {
    deps.close();
  }
});

Deno.test("requireJson() still refuses a body that is not JSON with 415, on a bodyless action too", async () => {
  const { deps, app, auth } = await setUp();
  try {
    for (
      const headers of [{ "content-length": "2" }, { "transfer-encoding": "chunked" }] as Record<
        string,
        string
      >[]
    ) {
      const res = await app.request("/admin/v1/senders/p1/disable", {
        method: "POST",
        headers: { ...auth, ...headers, "content-type": "text/plain" },
        body: "{}",
      });
      assert.equal(res.status, 415, JSON.stringify(headers));
      assert.match(
        (await res.json()).message.error.message,
        /Content-Type must be application\/json, not "text\/plain"/,
      );
    }
  } finally {
    deps.close();
  }
});

Deno.test("requireJson() over real HTTP/1.1: a bare POST (no Content-Length) passes, a text/plain body gets 415", async () => {
  const { deps, app, auth } = await setUp();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req, info) => app.fetch(req, info),
  );
  const raw = async (head: string[], body = "") => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      const lines = [...head, `authorization: ${auth.authorization}`, "host: localhost", "connection: close"];
      await conn.write(new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n${body}`));
      const answer = await new Response(conn.readable).text();
      return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
    } catch (err) {
      conn.close();
      throw err;
    }
  };
  try {
    assert.equal(await raw(["POST /admin/v1/senders/p1/disable HTTP/1.1"]), 200);
    assert.equal(
      await raw([
        "POST /admin/v1/senders/p1/enable HTTP/1.1",
        "content-type: text/plain",
        "content-length: 2",
      ], "{}"),
      415,
    );
  } finally {
    await server.shutdown();
    deps.close();
  }
});

Deno.test("the admin API refuses a NUL character in a JSON body, the path or the query with 400, naming where (PostgreSQL text cannot hold one)", async () => {
  const { deps, app, auth } = await setUp();
  try {
    const named = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ sender_id: "p2", name: "Part\u0000ner" }),
    });
    assert.equal(named.status, 400);
    const nul = "holds a NUL character (%00, \\u0000), which no value may";
    assert.equal((await named.json()).message.error.message, `The body's name ${nul}`);
    assert.equal(await deps.storage.senders.get("p2"), undefined);
    const refusal = async (path: string) => {
      const res = await app.request(path, { headers: auth });
      assert.equal(res.status, 400, path);
      return (await res.json()).message.error.message;
    };
    assert.equal(await refusal("/admin/v1/senders/p%001"), `The request path ${nul}`);
    assert.equal(await refusal("/admin/v1/senders?state=a%00"), `Query parameter "state" ${nul}`);
    // An escaped backslash before "u0000" is no NUL: the body is taken.
    const escaped = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ sender_id: "p3", name: "Part\\u0000ner" }),
    });
    assert.equal(escaped.status, 201, await escaped.text());
    // The same body without it is taken.
    const plain = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ sender_id: "p2", name: "Partner" }),
    });
    assert.equal(plain.status, 201);
  } finally {
    deps.close();
  }
});

Deno.test("a deeply nested body holding a NUL is refused naming where, its walk linear and its path clipped", async () => {
  const { deps, app } = await setUp();
  try {
    // 20,000 levels around "\u0000": the recursive walk, copying its path at each level, cost the isolate ~0.3 s
    // at 6,000 levels before the token was checked, and at this depth overflowed the stack and let the NUL through.
    const body = "[".repeat(20_000) + '"\\u0000"' + "]".repeat(20_000);
    const res = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(res.status, 400);
    const message = JSON.parse(await res.text()).message.error.message as string;
    assert.match(message, /^The body's 0\.0\.0\.[0.]*… holds a NUL character/);
    assert.ok(message.length < 400, message.slice(0, 300));
    // A body of bounded depth has its NUL named in full.
    const shallow = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sender_id: "p2", name: "a\u0000b" }),
    });
    assert.equal(shallow.status, 400);
    assert.match(await shallow.text(), /The body's name holds a NUL character/);
    // Under a top-level "" key: the body, as the recursive walk named it.
    const unnamed = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"": "a\\u0000b"}',
    });
    assert.match(await unnamed.text(), /"The body holds a NUL character/);
  } finally {
    deps.close();
  }
});
