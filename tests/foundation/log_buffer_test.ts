/**
 * Log lines reach stdout in batches (src/obs/log_buffer.ts): none is lost on a clean stop, a warning writes the
 * batch at once, and an info line waits for its batch (so one write carries many lines); no line is longer than
 * one atomic write.
 */
import assert from "node:assert/strict";
import { startServerProcess } from "../helpers/server.ts";
import { ATOMIC_WRITE_BYTES, bufferLogLine, flushLogBuffer } from "../../src/obs/log_buffer.ts";
import { createLogger, MAX_LINE_BYTES } from "../../src/obs/log.ts";

const LOG = new URL("../../src/obs/log.ts", import.meta.url).href;

/** Runs `code` (with `createLogger` imported) in a child Deno; its stdout lines' `msg` values. */
async function childMessages(code: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { createLogger } from "${LOG}"; const log = createLogger("info");\n${code}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((l) => JSON.parse(l).msg);
}

Deno.test("access log: with two HTTP isolates every request's line reaches stdout by a clean stop", async () => {
  const server = await startServerProcess({ env: { DCI_HTTP_ISOLATES: "2" } });
  const n = 120;
  try {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${server.url}/healthz?n=${i}`, { headers: { connection: "close" } });
      await res.body?.cancel();
    }
  } finally {
    assert.equal(await server.stop("SIGTERM"), 0);
  }
  const lines = server.logs.filter((l) => l.msg === "request" && l.path === "/healthz");
  assert.equal(lines.length, n);
  const isolates = new Set(lines.map((l) => l.isolate));
  assert.ok(isolates.has("http-1") && isolates.has("http-2"), `both isolates logged: ${[...isolates]}`);
  assert.ok(server.logs.some((l) => l.msg === "stopped"));
});

Deno.test("createLogger(): an info line waits for its batch; a warning writes the batch at once", async () => {
  // SIGKILL skips every exit hook: only what was written before it survives.
  const kill = `Deno.kill(Deno.pid, "SIGKILL");`;
  assert.deepEqual(await childMessages(`log.info("a"); log.info("b"); ${kill}`), []);
  assert.deepEqual(await childMessages(`log.info("a"); log.warn("b"); log.info("c"); ${kill}`), ["a", "b"]);
  assert.deepEqual(await childMessages(`log.info("a"); log.error("b"); ${kill}`), ["a", "b"]);
});

Deno.test("createLogger(): buffered lines are written in order on exit, Deno.exit and an uncaught error", async () => {
  assert.deepEqual(await childMessages(`log.info("a"); log.info("b");`), ["a", "b"]);
  assert.deepEqual(await childMessages(`log.info("a"); log.info("b"); Deno.exit(3);`), ["a", "b"]);
  assert.deepEqual(await childMessages(`log.info("a"); log.info("b"); throw new Error("boom");`), ["a", "b"]);
  const many = await childMessages(`for (let i = 0; i < 3000; i++) log.info(String(i));`);
  assert.deepEqual(many, Array.from({ length: 3000 }, (_, i) => String(i)));
});

Deno.test("flushLogBuffer(): each write holds whole lines and at most PIPE_BUF bytes (atomic on a pipe shared by isolates)", () => {
  const writes: Uint8Array[] = [];
  const original = Deno.stdout.writeSync;
  Deno.stdout.writeSync = (p: Uint8Array) => {
    writes.push(p.slice());
    return p.length;
  };
  try {
    const lines = Array.from(
      { length: 200 },
      (_, i) => JSON.stringify({ i, msg: "request", pad: "é".repeat(i % 50) }),
    );
    for (const l of lines) bufferLogLine(l);
    bufferLogLine("x".repeat(5000)); // longer than PIPE_BUF: alone
    flushLogBuffer();
  } finally {
    Deno.stdout.writeSync = original;
  }
  const texts = writes.map((w) => new TextDecoder().decode(w));
  assert.ok(writes.length > 1);
  for (const [i, w] of writes.entries()) {
    assert.ok(texts[i].endsWith("\n"), "whole lines");
    if (!texts[i].startsWith("xxx")) assert.ok(w.length <= ATOMIC_WRITE_BYTES, `${w.length} bytes`);
  }
  assert.equal(texts.join("").split("\n").filter(Boolean).length, 201, "every line once");
});

Deno.test("createLogger(): a line longer than one atomic write is shortened to fit, its secrets still redacted", () => {
  const lines: string[] = [];
  const log = createLogger("info", { sink: (l) => lines.push(l), base: { request_id: "r-1" } });
  const bytes = (l: string) => new TextEncoder().encode(l).length;
  log.info("short", { sender_id: "s1" });
  const err = new Error("e".repeat(10_000));
  log.error("long", {
    err,
    note: "é".repeat(3000),
    token: "t0k3n-value",
    nested: { secret: "x".repeat(5000) },
  });
  log.warn("wide", Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`field_${i}`, `value ${i}`])));
  assert.equal(MAX_LINE_BYTES, ATOMIC_WRITE_BYTES - 1);
  for (const l of lines) assert.ok(bytes(l) <= MAX_LINE_BYTES, `${bytes(l)} bytes`);
  const [short, long, wide] = lines.map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(short).sort(), ["level", "msg", "request_id", "sender_id", "ts"]);
  // Before: a 17 KB line, which a full pipe could split around another isolate's write.
  assert.equal(long.truncated, true);
  assert.equal(long.request_id, "r-1");
  assert.equal(long.token, "[redacted]");
  assert.equal(long.nested.secret, "[redacted]");
  assert.match(long.err.message, /^e{64,1024}… \(\d+ more\)$/);
  assert.match(long.note, /^é+… \(\d+ more\)$/);
  assert.ok(!lines[1].includes("t0k3n"));
  assert.deepEqual(wide, { ts: wide.ts, level: "warn", msg: "wide", request_id: "r-1", truncated: true });
  // A cut never leaves half of a surrogate pair (an escaped lone surrogate, which strict JSON readers refuse).
  for (const at of [1023, 1024, 255, 256, 63, 64]) {
    lines.length = 0;
    log.info("emoji", { note: "a".repeat(at % 2) + "😀".repeat(3000) });
    assert.ok(bytes(lines[0]) <= MAX_LINE_BYTES);
    assert.doesNotMatch(lines[0], /\\ud[89ab]/i, lines[0].slice(0, 200));
  }
});
