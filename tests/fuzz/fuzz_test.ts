/** A fixed-seed fuzz subset against the real server process, plus the reproducers of the bugs fuzzing found. */
import assert from "node:assert/strict";
import { integrityCheck, startFuzzTarget } from "./target.ts";
import { formatReport, runFuzz } from "./runner.ts";
import { CATEGORIES, envelopeText, jsonHeaders, validEnvelope } from "./cases.ts";
import { Rng } from "./prng.ts";
import { send } from "./send.ts";
import { jsonTooDeep } from "../../src/http/json_depth.ts";

Deno.test("fuzz: 400 generated malformed inputs (seed 7) never get a 5xx or a wrong-shape answer", async () => {
  const { server, ctx, receiver } = await startFuzzTarget();
  try {
    const report = await runFuzz(ctx, { seed: 7, count: 400, concurrency: 8 });
    assert.deepEqual(report.violations, [], formatReport(report));
    assert.equal(report.total, 400);
    for (const c of CATEGORIES) assert.ok((report.byCategory.get(c) ?? 0) > 0, `no ${c} inputs`);
    // A fuzzer that only hits 401 is useless: most inputs pass authentication and reach validation.
    assert.ok(report.authentic / report.total > 0.45, `only ${report.authentic} authentic inputs`);
    const count = (pred: (label: string) => boolean) =>
      [...report.byAnswer].filter(([k]) => pred(k)).reduce((a, [, n]) => a + n, 0);
    assert.ok(count((k) => k.startsWith("202 ACK")) > 20, "async requests were accepted");
    assert.ok(count((k) => k.startsWith("200 ")) > 20, "sync requests were answered");
    // Rejections with a header code (`400 rjct.message_ts.invalid`) or item codes only (`200 signed rjct`): the
    // crvs mount used to add `rjct.action.not_supported` to every request; it answers for real since issue 13.
    assert.ok(count((k) => /rjct\.|signed rjct/.test(k)) > 20, "rjct answers were reached");
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    await (await fetch(`${server.url}/healthz`)).body?.cancel();
  } finally {
    assert.equal(await server.stop(), 0);
    await receiver.close();
  }
  assert.equal(integrityCheck(server.dataDir), "ok");
  await Deno.remove(server.dataDir, { recursive: true });
});

Deno.test("fuzz reproducers: deep nesting and a body shorter than its Content-Length answer 400, not 500", async () => {
  const { server, ctx, receiver } = await startFuzzTarget();
  try {
    // Was: RangeError (stack overflow) in canonical JSON while checking the signature → 500.
    const env = validEnvelope(new Rng(1), ctx.sender, "sync/search", 1);
    const deep = envelopeText(ctx.sender.signature(env), env.header, "@@").replace(
      '"@@"',
      "[".repeat(20_000) + "]".repeat(20_000),
    );
    const a = await send(ctx.url, {
      index: 0,
      category: "envelope",
      desc: "deep",
      method: "POST",
      path: "/registry/sync/search",
      kind: "sync",
      headers: jsonHeaders(ctx.sender),
      body: deep,
    });
    assert.equal(a.status, 400, a.text);
    assert.equal((a.json?.message as { error: { code: string } }).error.code, "err.request.bad");
    // Was: BadResource while reading the body (client half-closed before Content-Length bytes) → 500.
    const env2 = validEnvelope(new Rng(2), ctx.sender, "sync/search", 2);
    const body = JSON.stringify({ signature: ctx.sender.signature(env2), ...env2 });
    const raw = new TextEncoder().encode(
      `POST /registry/sync/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Authorization: ${ctx.sender.headers().authorization}\r\nContent-Length: ${body.length + 50}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
    const b = await send(ctx.url, { ...a, index: 1, desc: "short body", raw } as never);
    assert.equal(b.status, 400, b.text);
    assert.equal((b.json?.message as { error: { code: string } }).error.code, "err.request.bad");
  } finally {
    await server.stop();
    await receiver.close();
  }
  await Deno.remove(server.dataDir, { recursive: true });
});

Deno.test("jsonTooDeep counts brackets outside strings only", () => {
  assert.equal(jsonTooDeep("[".repeat(65) + "]".repeat(65)), true);
  assert.equal(jsonTooDeep("[".repeat(64) + "]".repeat(64)), false);
  assert.equal(jsonTooDeep(JSON.stringify({ a: "[".repeat(1000), b: '\\"[[[' })), false);
  assert.equal(jsonTooDeep(`{"a":"\\\\"${"[".repeat(70)}`), true);
});
