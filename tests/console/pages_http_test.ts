/**
 * Console pages over HTTP, without a browser: a subscription's page links the rest of its notifications and
 * answers a storage fault as the 503 page (a missing subscription alone is a 404); a malformed list cursor is
 * ignored, not passed to the database.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createSession, keepForNextPage, readSession, SESSION_COOKIE } from "../../src/console/session.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { input, person, putPerson, subItem } from "../subscriptions/helpers.ts";

Deno.test("console subscription page: the rest of its notifications linked, a storage fault 503, a missing one 404", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    const app = createApp(deps);
    const admin = await deps.storage.adminTokens.create({ role: "viewer", name: "ops" });
    const cookie = `${SESSION_COOKIE}=${(await createSession(deps, admin.info.id)).id}`;
    const get = (path: string) => app.request(`/console/${path}`, { headers: { cookie } });
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("p1"));
    const r = await subscribeProcessor(
      deps,
      input("s1", { transaction_id: "t", subscribe_request: [subItem("r", {})] }, "http://127.0.0.1:9/cb"),
    );
    const code = (r.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
      .subscriptions[0].code;
    for (let i = 0; i < 51; i++) {
      await putPerson(deps, person("p1", { name: { given_name: `n${i}`, surname: "Tester" } }));
    }
    await fanOutAll(deps);
    const rows = await deps.storage.notifications.list({ subscription: code, limit: 50 });
    assert.equal(rows.length, 50);
    const page = await (await get(`subscriptions/${code}`)).text();
    const next = new URLSearchParams({ subscription: code, after: String(rows[49].id) });
    assert.ok(page.includes(`notifications?${next}`.replaceAll("&", "&amp;")), "a link to the rest");

    assert.equal((await get("subscriptions/no-such-code")).status, 404);
    const get0 = deps.storage.subscriptions.get;
    deps.storage.subscriptions.get = () =>
      Promise.reject(Object.assign(new Error("database is locked"), { errcode: 5 }));
    try {
      const busy = await get(`subscriptions/${code}`);
      assert.equal(busy.status, 503);
      assert.ok(busy.headers.get("retry-after"));
    } finally {
      deps.storage.subscriptions.get = get0;
    }

    // A cursor that is no row id is ignored (on PostgreSQL it reached a bigint parameter: 500).
    for (const before of ["1.5", "1e999", "100000000000000000000", "-3"]) {
      assert.equal((await get(`registry/social/imports?before=${before}`)).status, 200, before);
    }
  } finally {
    deps.close();
  }
});

Deno.test("console import upload: a form without a valid CSRF token is refused 403 whatever it holds, and the session keeps its message", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
    const { id } = await createSession(deps, admin.info.id);
    const cookie = `${SESSION_COOKIE}=${id}`;
    await keepForNextPage(deps, (await readSession(deps, id))!, { flash: { kind: "ok", text: "kept" } });
    const forms: Array<[string, BodyInit, string?]> = [
      ["no file, no token", formOf({ x: "1" })],
      ["no file, a wrong token", formOf({ _csrf: "forged" })],
      ["not multipart", "x=1", "application/x-www-form-urlencoded"],
    ];
    for (const [what, body, type] of forms) {
      const res = await app.request("/console/registry/social/imports", {
        method: "POST",
        headers: { cookie, ...(type ? { "content-type": type } : {}) },
        body,
      });
      assert.equal(res.status, 403, what);
      await res.body?.cancel();
    }
    // The message kept for the next page is still there (a forged form wrote nothing to the session).
    const page = await (await app.request("/console/", { headers: { cookie } })).text();
    assert.match(page, /kept/);
  } finally {
    deps.close();
  }
});

function formOf(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

Deno.test("console: a form or an import upload over its bound is answered with a page (413), not the API's JSON", async () => {
  const deps = await testDeps({ importUploadMaxBytes: "2048" });
  try {
    const app = createApp(deps);
    const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
    const cookie = `${SESSION_COOKIE}=${(await createSession(deps, admin.info.id)).id}`;
    for (
      const [path, type, size] of [
        ["senders/s1/keys", "application/x-www-form-urlencoded", 200_000],
        ["registry/social/imports", "multipart/form-data; boundary=x", 5_000],
      ] as const
    ) {
      const res = await app.request(`/console/${path}`, {
        method: "POST",
        headers: { cookie, "content-type": type, "content-length": String(size) },
        body: "x".repeat(size),
      });
      assert.equal(res.status, 413, path);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      const page = await res.text();
      assert.match(page, /Too large/);
      assert.match(page, /href="\.\.\/\.\.\/"/, "back to the console, relative to the page");
    }
    // The API's bound is still answered as the API answers it.
    const api = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: "x".repeat(2_000_000),
    });
    assert.equal(api.status, 413);
    assert.match(api.headers.get("content-type") ?? "", /json/);
  } finally {
    deps.close();
  }
});
