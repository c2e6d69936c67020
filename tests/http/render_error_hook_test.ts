/**
 * A deployment's renderError hook that throws: the stock answer, and the hook's failure logged once; one that
 * answers an internal error itself: the error is logged as the stock answer logs it.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createLogger } from "../../src/obs/log.ts";

Deno.test("a renderError hook that throws: the stock ERR ACK with the error's status, the hook's failure logged once", async () => {
  const deps = await testDeps();
  const lines: Array<Record<string, unknown>> = [];
  deps.log = createLogger("error", { sink: (l) => lines.push(JSON.parse(l)) });
  let calls = 0;
  deps.extensions = {
    renderError: () => {
      calls++;
      throw new TypeError("a bug in the deployment's renderer");
    },
  };
  try {
    const app = createApp(deps);
    const res = await app.request("/dci_api/v1/nothing-here");
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.message.error.code, "err.request.not_found");
    assert.equal(calls, 1);
    const failed = lines.filter((l) => l.msg === "renderError hook failed");
    assert.equal(failed.length, 1);
    assert.match(JSON.stringify(failed[0].err), /a bug in the deployment's renderer/);
    const access = lines.find((l) => l.msg === "request");
    assert.equal(access, undefined, "a 404 is no error line");
  } finally {
    deps.close();
  }
});

Deno.test("a renderError hook answering an internal error itself: its answer, and the error logged as without it", async () => {
  const deps = await testDeps();
  const lines: Array<Record<string, unknown>> = [];
  deps.log = createLogger("error", { sink: (l) => lines.push(JSON.parse(l)) });
  deps.extensions = {
    routes: (app) => {
      app.get("/boom", () => {
        throw new RangeError("a bug in a deployment's route");
      });
    },
    renderError: (_err, c) => c.text("our own error page", 500),
  };
  try {
    const res = await createApp(deps).request("/boom");
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "our own error page");
    const logged = lines.filter((l) => l.msg === "unhandled error");
    assert.equal(logged.length, 1);
    assert.match(JSON.stringify(logged[0].err), /a bug in a deployment's route/);
  } finally {
    deps.close();
  }
});
